import { describe, expect, it } from 'vitest';
import { confusionMatrix, evaluateCoco, normaliseColumns, perClassAp, precisionRecallCurves } from '../src/index.js';
import { dataset, det, gtBox } from './helpers.js';

describe('precision-recall curve at IoU 0.5', () => {
  it('is the interpolated curve whose mean is AP50 (worked by hand)', () => {
    // Two boxes; detections: hit (0.9), miss (0.8), hit (0.7). Precision at the hits: 1 and 2/3,
    // recall 0.5 and 1: recall thresholds 0..0.50 read 1, 0.51..1 read 2/3.
    const gt = dataset([gtBox(1, 1, [0, 0, 100, 100]), gtBox(2, 1, [200, 0, 100, 100])]);
    const dts = [det(1, [0, 0, 100, 100], 0.9), det(1, [400, 0, 100, 100], 0.8), det(1, [200, 0, 100, 100], 0.7)];
    const result = evaluateCoco(gt, dts);
    const [curve] = precisionRecallCurves(result);
    expect(curve!.categoryId).toBe(1);
    expect(curve!.name).toBe('c1');
    expect(curve!.recall).toHaveLength(101);
    // pycocotools' precision tp / (tp + fp + eps), eps = np.spacing(1).
    expect(curve!.precision.slice(0, 51)).toEqual(new Array(51).fill(1 / (0 + 1 + 2 ** -52)));
    expect(curve!.precision.slice(51)).toEqual(new Array(50).fill(2 / (1 + 2 + 2 ** -52)));
    expect(curve!.ap).toBeCloseTo((51 + 50 * (2 / 3)) / 101, 12);
    expect(curve!.ap).toBeCloseTo(result.perCategory[0]!.stats.AP50, 12);
    expect(() => precisionRecallCurves(result, 0.52)).toThrow('IoU threshold 0.52 was not evaluated');
  });
  it('leaves out a category without ground truth; per-class rows count boxes and detections', () => {
    const gt = dataset([gtBox(1, 1, [0, 0, 10, 10])], [1], [1, 2]);
    const dts = [det(1, [0, 0, 10, 10], 0.9), det(1, [0, 0, 10, 10], 0.8, 2)];
    const result = evaluateCoco(gt, dts);
    expect(precisionRecallCurves(result).map((c) => c.categoryId)).toEqual([1]);
    const rows = perClassAp(gt, dts, result);
    expect(rows.map(({ AP: _a, AP50: _b, AP75: _c, ...rest }) => rest)).toEqual([
      { categoryId: 1, name: 'c1', groundTruth: 1, detections: 1 },
      { categoryId: 2, name: 'c2', groundTruth: 0, detections: 1 },
    ]);
    for (const key of ['AP', 'AP50', 'AP75'] as const) {
      expect(rows[0]![key]).toBeCloseTo(1, 12);
      expect(rows[1]![key]).toBe(-1);
    }
  });
});

describe('confusion matrix with background', () => {
  // Classes 1 and 2. Image 1: a box of each; image 2: a class-1 box and a class-2 crowd region.
  const gt = dataset(
    [
      gtBox(1, 1, [0, 0, 10, 10]),
      gtBox(2, 1, [20, 0, 10, 10], { category_id: 2 }),
      gtBox(3, 2, [0, 0, 10, 10]),
      gtBox(4, 2, [50, 50, 40, 40], { category_id: 2, iscrowd: 1 }),
    ],
    [1, 2],
    [1, 2],
  );
  const dts = [
    det(1, [0, 0, 10, 10], 0.9, 1), // class 1 on the class-1 box: correct
    det(1, [20, 0, 10, 10], 0.8, 1), // class 1 on the class-2 box (IoU 1): confused
    det(1, [21, 0, 10, 10], 0.7, 2), // IoU 90/110 with the class-2 box, already taken: background
    det(1, [100, 100, 5, 5], 0.1, 2), // under the score threshold: not counted
    det(2, [60, 60, 10, 10], 0.6, 2), // inside the crowd region: not counted
    det(2, [200, 200, 10, 10], 0.5, 1), // on nothing: background
  ];
  it('counts [predicted][true] with the background last (worked by hand)', () => {
    const m = confusionMatrix(gt, dts);
    expect(m.categoryIds).toEqual([1, 2]);
    expect(m.names).toEqual(['c1', 'c2']);
    expect(m.counts).toEqual([
      [1, 1, 1],
      [0, 0, 1],
      [1, 0, 0],
    ]);
    expect(normaliseColumns(m.counts)).toEqual([
      [0.5, 1, 0.5],
      [0, 0, 0.5],
      [0.5, 0, 0],
    ]);
  });
  it('thresholds change the counts as they should', () => {
    // Score threshold 0: the 0.1 detection is a false positive too.
    expect(confusionMatrix(gt, dts, { scoreThreshold: 0 }).counts[1]).toEqual([0, 0, 2]);
    // IoU threshold 0.95: the 0.818 overlap never pairs; the same result as at 0.5 here.
    expect(confusionMatrix(gt, dts, { iouThreshold: 0.95 }).counts).toEqual([[1, 1, 1], [0, 0, 1], [1, 0, 0]]);
    expect(() => confusionMatrix(gt, dts, { iouThreshold: 0 })).toThrow('iouThreshold must be in (0, 1]');
    expect(() => confusionMatrix(gt, [det(1, [0, 0, 1, 1], 0.9, 7)])).toThrow('unknown category_id 7');
  });
});
