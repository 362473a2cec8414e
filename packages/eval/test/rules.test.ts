/**
 * One hand-worked case per rule of pycocotools' box evaluation. Expected numbers are derived in
 * the comments from the rules, not from running the code. Precision carries pycocotools'
 * tp / (tp + fp + eps), so a "perfect" precision is 1 - 2^-52: compare to 12 digits.
 */
import { describe, expect, it } from 'vitest';
import { evaluateCoco } from '../src/index.js';
import { dataset, det, gtBox, precisionCurve, recallAt } from './helpers.js';

const ALL = 0;
const SMALL = 1;
const MEDIUM = 2;
const LARGE = 3;

describe('101-point interpolated precision', () => {
  // Two large gts; detections TP (.9), FP (.8), TP (.7).
  // rc = [.5, .5, 1], pr = [1, .5, 2/3] -> made monotone [1, 2/3, 2/3].
  // Recall thresholds 0.00..0.50 (51 points) read index 0 (rc[0] = .5 >= .50, searchsorted left),
  // 0.51..1.00 (50 points) read index 2: AP = (51 + 50 * 2/3) / 101 = 253/303 at every IoU.
  const data = dataset([gtBox(1, 1, [0, 0, 100, 100]), gtBox(2, 1, [200, 0, 100, 100])]);
  const dets = [det(1, [0, 0, 100, 100], 0.9), det(1, [400, 0, 100, 100], 0.8), det(1, [200, 0, 100, 100], 0.7)];
  const result = evaluateCoco(data, dets);

  it('samples the monotone precision at 101 recall points', () => {
    const curve = precisionCurve(result, 0, 0, ALL, 2);
    for (let r = 0; r <= 50; r++) expect(curve[r]).toBeCloseTo(1, 12);
    for (let r = 51; r <= 100; r++) expect(curve[r]).toBeCloseTo(2 / 3, 12);
  });

  it('gives AP = 253/303 and the other 11 numbers', () => {
    const s = result.stats;
    expect(s.AP).toBeCloseTo(253 / 303, 12);
    expect(s.AP50).toBeCloseTo(253 / 303, 12);
    expect(s.AP75).toBeCloseTo(253 / 303, 12);
    expect(s.APs).toBe(-1);
    expect(s.APm).toBe(-1);
    expect(s.APl).toBeCloseTo(253 / 303, 12);
    // maxDets=1 keeps only the .9 detection: recall 1/2.
    expect(s.AR1).toBe(0.5);
    expect(s.AR10).toBe(1);
    expect(s.AR100).toBe(1);
    expect(s.ARs).toBe(-1);
    expect(s.ARm).toBe(-1);
    expect(s.ARl).toBe(1);
  });

  it('reads precision 0 past the last recall reached', () => {
    // maxDets=1: rc = [.5], so thresholds above .50 find no point.
    const curve = precisionCurve(result, 0, 0, ALL, 0);
    expect(curve[50]).toBeCloseTo(1, 12);
    expect(curve[51]).toBe(0);
    expect(curve[100]).toBe(0);
  });
});

describe('IoU thresholds are compared exactly (numpy linspace bits, >= threshold)', () => {
  const gt = gtBox(1, 1, [0, 0, 100, 100]);
  const apFor = (h: number) => evaluateCoco(dataset([gt]), [det(1, [0, 0, 100, h], 0.9)]).stats;

  it('IoU exactly 0.5 matches at .50 only: AP = 1/10', () => {
    const s = apFor(50);
    expect(s.AP50).toBeCloseTo(1, 12);
    expect(s.AP75).toBe(0);
    expect(s.AP).toBeCloseTo(0.1, 12);
    expect(s.AR100).toBeCloseTo(0.1, 15);
  });

  it('IoU 5500/10000 equals the .55 threshold: matches at two thresholds', () => {
    expect(apFor(55).AP).toBeCloseTo(0.2, 12);
  });

  it('IoU 0.9 clears the threshold 0.8999999999999999: nine thresholds', () => {
    expect(apFor(90).AP).toBeCloseTo(0.9, 12);
  });

  it('IoU 1 matches at .95 (threshold capped at 1 - 1e-10 only above it)', () => {
    expect(apFor(100).AP).toBeCloseTo(1, 12);
  });
});

describe('crowd ground truth', () => {
  // Regular g1 (large) and a 200x200 crowd region. Two detections inside the crowd score higher
  // than the true positive. Their plain IoU with the crowd box is 2500/40000 = .0625, but against a
  // crowd the denominator is the detection's area (iof = 1), so both match the crowd and are
  // ignored; the crowd absorbs any number of detections. Sequence: ign, ign, TP, FP:
  // rc = [0, 0, 1, 1], pr = [0, 0, 1, .5] -> monotone [1, 1, 1, .5] -> AP = 1.
  // (Plain IoU would make both FPs: AP = 1/3; a crowd matched once would give AP = 1/2.)
  const data = dataset([
    gtBox(1, 1, [0, 0, 100, 100]),
    gtBox(2, 1, [200, 0, 200, 200], { iscrowd: 1 }),
  ]);
  const dets = [
    det(1, [0, 0, 100, 100], 0.9),
    det(1, [210, 10, 50, 50], 0.95),
    det(1, [250, 50, 50, 50], 0.93),
    det(1, [500, 500, 10, 10], 0.6),
  ];
  const result = evaluateCoco(data, dets);

  it('matches many detections, by intersection over detection area, and ignores them', () => {
    expect(result.stats.AP).toBeCloseTo(1, 12);
    expect(result.stats.AR100).toBe(1);
  });

  it('is never counted as ground truth to find', () => {
    // Only g1 is large and regular; small and medium have none.
    expect(result.stats.APs).toBe(-1);
    expect(result.stats.APm).toBe(-1);
    expect(recallAt(result, 0, 0, LARGE, 2)).toBe(1);
  });

  it('boolean iscrowd means the same as 1', () => {
    const again = evaluateCoco(dataset([gtBox(1, 1, [0, 0, 100, 100]), gtBox(2, 1, [200, 0, 200, 200], { iscrowd: true })]), dets);
    expect(again.stats).toEqual(result.stats);
  });
});

describe('a detection that matches regular ground truth stops before ignored ground truth', () => {
  // Regular g1 and a crowd over the same square. d1 = [0,0,100,80]: IoU .8 with g1, iof 1 with the
  // crowd. d2 is a FP elsewhere. At IoU .50...80 (7 thresholds; 8000/10000 == linspace's .8) d1
  // takes g1 and the loop breaks at the crowd, so TP then FP: AP_t = 1, recall 1. Above .8 d1
  // falls to the crowd (ignored) and d2 is a FP: AP_t = 0, recall 0. AP = AR = .7.
  // Without the break, d1 would take the crowd (iof 1 > .8) everywhere: AP = 0.
  const data = dataset([gtBox(1, 1, [0, 0, 100, 100]), gtBox(2, 1, [0, 0, 100, 100], { iscrowd: 1 })]);
  const result = evaluateCoco(data, [det(1, [0, 0, 100, 80], 0.9), det(1, [300, 300, 100, 100], 0.8)]);

  it('gives AP = AR = 0.7', () => {
    expect(result.stats.AP).toBeCloseTo(0.7, 12);
    expect(result.stats.AR100).toBeCloseTo(0.7, 15);
  });
});

describe('later ground truth wins an IoU tie', () => {
  // g1 = [0,0,10,10], g2 = [2,0,10,10]; d1 = [1,0,10,10] (.9) has IoU 90/110 with both; d2 = g1's
  // box (.8). Ties go to the later gt (a tie does not fail the `iou < best` test), so d1 -> g2,
  // d2 -> g1 (IoU 1). For IoU .50...80 both are TPs: AP_t = 1. For .85, .90, .95 d1 misses (.818):
  // FP then TP, rc = [0, .5], pr = [0, .5] -> monotone [.5, .5]: AP_t = 51 * .5 / 101.
  // (Were ties to go to g1, d2 would only reach g2 at IoU 80/120 and AP75 would be 51/101.)
  const data = dataset([gtBox(1, 1, [0, 0, 10, 10]), gtBox(2, 1, [2, 0, 10, 10])]);
  const result = evaluateCoco(data, [det(1, [1, 0, 10, 10], 0.9), det(1, [0, 0, 10, 10], 0.8)]);

  it('AP75 = 1 and AP = (7 + 3 * 25.5/101) / 10', () => {
    expect(result.stats.AP75).toBeCloseTo(1, 12);
    expect(result.stats.AP).toBeCloseTo((7 + (3 * 25.5) / 101) / 10, 12);
  });
});

describe('area ranges', () => {
  it("use the annotation's area field for ground truth, not its box", () => {
    // Box 10x10 (100 px^2) but area 2000: medium, not small.
    const result = evaluateCoco(dataset([gtBox(1, 1, [0, 0, 10, 10], { area: 2000 })]), [det(1, [0, 0, 10, 10], 0.9)]);
    expect(result.stats.APs).toBe(-1);
    expect(result.stats.APm).toBeCloseTo(1, 12);
    expect(result.stats.APl).toBe(-1);
  });

  it('ignore unmatched detections whose box area is outside the range', () => {
    // Small gt (20x20) found at .9; a 50x50 FP (area 2500, medium) at .95.
    // all: FP, TP -> rc [0, 1], pr [0, .5] -> AP .5. small: the FP is ignored -> AP 1.
    const result = evaluateCoco(dataset([gtBox(1, 1, [0, 0, 20, 20])]), [det(1, [100, 100, 50, 50], 0.95), det(1, [0, 0, 20, 20], 0.9)]);
    expect(result.stats.AP).toBeCloseTo(0.5, 12);
    expect(result.stats.APs).toBeCloseTo(1, 12);
    expect(result.stats.APm).toBe(-1);
  });

  it('are inclusive at both ends: area 32^2 is small and medium', () => {
    const result = evaluateCoco(dataset([gtBox(1, 1, [0, 0, 32, 32])]), [det(1, [0, 0, 32, 32], 0.9)]);
    expect(result.stats.APs).toBeCloseTo(1, 12);
    expect(result.stats.APm).toBeCloseTo(1, 12);
    expect(result.stats.APl).toBe(-1);
    expect(recallAt(result, 0, 0, SMALL, 2)).toBe(1);
    expect(recallAt(result, 0, 0, MEDIUM, 2)).toBe(1);
  });
});

describe('maxDets', () => {
  it('cuts each image to its top detections before pooling', () => {
    // Image 1: three gts found at .9, .8, .7; image 2: one gt found at .85.
    // maxDets=1 keeps .9 (image 1) and .85 (image 2): recall 2/4.
    const data = dataset(
      [gtBox(1, 1, [0, 0, 100, 100]), gtBox(2, 1, [200, 0, 100, 100]), gtBox(3, 1, [400, 0, 100, 100]), gtBox(4, 2, [0, 0, 100, 100])],
      [1, 2],
    );
    const dets = [det(1, [400, 0, 100, 100], 0.7), det(1, [0, 0, 100, 100], 0.9), det(2, [0, 0, 100, 100], 0.85), det(1, [200, 0, 100, 100], 0.8)];
    const result = evaluateCoco(data, dets);
    expect(result.stats.AR1).toBe(0.5);
    expect(result.stats.AR10).toBe(1);
    // Precision with maxDets=1: rc = [.25, .5], both TPs: 51 of 101 points reach it.
    const curve = precisionCurve(result, 0, 0, ALL, 0);
    expect(curve.reduce((s, v) => s + v, 0) / 101).toBeCloseTo(51 / 101, 12);
  });

  it('custom maxDets keep the top maxDets[-1] per image; AP needs a maxDets of 100, as in pycocotools', () => {
    // Four gts; FP at .9, TPs at .8, .7, .6, .5. maxDets [1, 2, 3] keeps FP, TP, TP.
    // rc = [0, .25, .5], pr = [0, .5, 2/3] -> monotone 2/3 everywhere up to recall .5:
    // AP50 = 51 * (2/3) / 101 = 34/101. AR@3 = .5, AR@2 = .25, AR@1 = 0.
    const gts = [0, 1, 2, 3].map((n) => gtBox(n + 1, 1, [n * 200, 0, 100, 100]));
    const dets = [
      det(1, [0, 400, 100, 100], 0.9),
      det(1, [600, 0, 100, 100], 0.5),
      det(1, [0, 0, 100, 100], 0.8),
      det(1, [200, 0, 100, 100], 0.7),
      det(1, [400, 0, 100, 100], 0.6),
    ];
    const result = evaluateCoco(dataset(gts), dets, { maxDets: [1, 2, 3] });
    expect(result.stats.AP50).toBeCloseTo(34 / 101, 12);
    expect(result.stats.AR100).toBe(0.5);
    expect(result.stats.AR10).toBe(0.25);
    expect(result.stats.AR1).toBe(0);
    expect(result.stats.AP).toBe(-1);
  });
});

describe('score ties', () => {
  const data = dataset([gtBox(1, 1, [0, 0, 10, 10])]);
  const fp = det(1, [50, 50, 10, 10], 0.5);
  const tp = det(1, [0, 0, 10, 10], 0.5);

  it('keep input order within an image (stable sort)', () => {
    // FP first: rc [0, 1], pr [0, .5] -> AP .5. TP first: rc [1, 1], pr [1, .5] -> AP 1.
    expect(evaluateCoco(data, [fp, tp]).stats.AP).toBeCloseTo(0.5, 12);
    expect(evaluateCoco(data, [tp, fp]).stats.AP).toBeCloseTo(1, 12);
  });

  it('0 and -0 are the same score; infinite scores sort like numbers', () => {
    const fpZero = det(1, [50, 50, 10, 10], 0);
    const tpNegZero = det(1, [0, 0, 10, 10], -0);
    expect(evaluateCoco(data, [fpZero, tpNegZero]).stats.AP).toBeCloseTo(0.5, 12);
    expect(evaluateCoco(data, [tpNegZero, fpZero]).stats.AP).toBeCloseTo(1, 12);
    // +Infinity FP before a finite TP: AP .5; -Infinity FP after it: AP 1.
    expect(evaluateCoco(data, [tp, det(1, [50, 50, 10, 10], Infinity)]).stats.AP).toBeCloseTo(0.5, 12);
    expect(evaluateCoco(data, [det(1, [50, 50, 10, 10], -Infinity), tp]).stats.AP).toBeCloseTo(1, 12);
  });

  it('go to the image with the smaller id first, whatever the input order', () => {
    // The gt is in image 2; image 1 holds only the FP. Pooled order: image 1 (FP), image 2 (TP).
    const data2 = dataset([gtBox(1, 2, [0, 0, 10, 10])], [2, 1]);
    const tp2 = det(2, [0, 0, 10, 10], 0.5);
    const fp1 = det(1, [50, 50, 10, 10], 0.5);
    expect(evaluateCoco(data2, [tp2, fp1]).stats.AP).toBeCloseTo(0.5, 12);
    expect(evaluateCoco(data2, [fp1, tp2]).stats.AP).toBeCloseTo(0.5, 12);
  });
});

describe('empty images and classes without ground truth', () => {
  const gts = [gtBox(1, 1, [0, 0, 100, 100])];
  const dets = [det(1, [0, 0, 100, 100], 0.9), det(2, [0, 0, 100, 100], 0.8, 2)];

  it('a class with detections but no ground truth is -1 and left out of the mean', () => {
    const result = evaluateCoco(dataset(gts, [1, 2, 3], [1, 2]), dets);
    expect(result.stats.AP).toBeCloseTo(1, 12);
    expect(result.perCategory.map((c) => c.categoryId)).toEqual([1, 2]);
    expect(result.perCategory[0]!.stats.AP).toBeCloseTo(1, 12);
    expect(Object.values(result.perCategory[1]!.stats)).toEqual(Array(12).fill(-1));
  });

  it('an image with nothing changes nothing; one with only detections adds false positives', () => {
    const base = evaluateCoco(dataset(gts, [1, 2], [1, 2]), dets);
    const withEmpty = evaluateCoco(dataset(gts, [1, 2, 7], [1, 2]), dets);
    expect(withEmpty.stats).toEqual(base.stats);
    expect(Array.from(withEmpty.precision)).toEqual(Array.from(base.precision));
    // A higher-scored FP of class 1 in image 7: FP, TP -> AP .5.
    const withFp = evaluateCoco(dataset(gts, [1, 2, 7], [1, 2]), [...dets, det(7, [0, 0, 50, 50], 0.95)]);
    expect(withFp.stats.AP).toBeCloseTo(0.5, 12);
  });

  it('no detections at all: precision and recall 0 where ground truth exists', () => {
    const result = evaluateCoco(dataset(gts), []);
    expect(result.stats.AP).toBe(0);
    expect(result.stats.AR100).toBe(0);
    expect(result.stats.APs).toBe(-1);
  });

  it('no ground truth at all: every number is -1', () => {
    const result = evaluateCoco(dataset([]), [det(1, [0, 0, 10, 10], 0.9)]);
    expect(Object.values(result.stats)).toEqual(Array(12).fill(-1));
    expect(result.precision.every((v) => v === -1)).toBe(true);
  });
});

describe('annotation ids', () => {
  it('a ground truth with id 0 is matched like any other (pycocotools would count its match as a miss)', () => {
    const result = evaluateCoco(dataset([gtBox(0, 1, [0, 0, 100, 100])]), [det(1, [0, 0, 100, 100], 0.9)]);
    expect(result.stats.AP).toBeCloseTo(1, 12);
  });
});

describe('array layout', () => {
  it('precision is [T, R, K, A, M] and recall [T, K, A, M], categories in ascending id order', () => {
    // Category 5 is perfect, category 3 has only a FP: the k index follows sorted ids [3, 5].
    const data = dataset([gtBox(1, 1, [0, 0, 100, 100], { category_id: 5 }), gtBox(2, 1, [0, 0, 100, 100], { category_id: 3 })], [1], [5, 3]);
    const result = evaluateCoco(data, [det(1, [0, 0, 100, 100], 0.9, 5), det(1, [300, 300, 100, 100], 0.9, 3)]);
    expect(result.counts).toEqual([10, 101, 2, 4, 3]);
    expect(result.precision.length).toBe(10 * 101 * 2 * 4 * 3);
    expect(result.recall.length).toBe(10 * 2 * 4 * 3);
    expect(result.params.categoryIds).toEqual([3, 5]);
    expect(recallAt(result, 9, 0, ALL, 2)).toBe(0);
    expect(recallAt(result, 9, 1, ALL, 2)).toBe(1);
    expect(precisionCurve(result, 3, 1, LARGE, 1)[60]).toBeCloseTo(1, 12);
    expect(precisionCurve(result, 3, 0, LARGE, 1)[0]).toBe(0);
    expect(result.stats.AP).toBeCloseTo(0.5, 12);
  });
});
