import { describe, expect, it } from 'vitest';
import { ASSIGN_BACKGROUND as BG, ASSIGN_IGNORE as IG, maxIoUAssign } from '../src/index.js';
import { flat, iou64, loadFixture, randomBoxes, rng, type Box64 } from './fixtures/geometry/reference.js';

const C = 5;

describe('maxIoUAssign (hand-made cases)', () => {
  // IoU with G0 = [0,0,10,10]: P0 1, P1 50/150, P4 50/100; with G1 = [22,20,32,30]: P2 80/120; P3 none.
  const input = {
    priors: flat([
      [0, 0, 10, 10],
      [5, 0, 15, 10],
      [20, 20, 30, 30],
      [100, 100, 110, 110],
      [0, 0, 10, 5],
    ]),
    gtBoxes: flat([
      [0, 0, 10, 10],
      [22, 20, 32, 30],
    ]),
    gtLabels: [3, 1],
  };

  it('splits positives / background / ignored by the thresholds and adds low-quality matches', () => {
    const a = maxIoUAssign(input, { numClasses: C, posIouThr: 0.7, negIouThr: 0.4 });
    expect(Array.from(a.gtIndex)).toEqual([0, BG, 1, BG, IG]);
    expect(Array.from(a.labels)).toEqual([3, C, 1, C, -1]);
    expect(a.numPositive).toBe(2);
    const want = [1, 1 / 3, 2 / 3, 0, 0.5];
    want.forEach((v, i) => expect(a.maxIoU[i]).toBeCloseTo(v, 6));
  });

  it('without low-quality matches the between-threshold prior stays ignored', () => {
    const a = maxIoUAssign(input, { numClasses: C, posIouThr: 0.7, negIouThr: 0.4, matchLowQuality: false });
    expect(Array.from(a.gtIndex)).toEqual([0, BG, IG, BG, IG]);
  });

  it('a [lo, hi) negative range ignores priors below lo', () => {
    const a = maxIoUAssign(input, { numClasses: C, posIouThr: 0.7, negIouThr: [0.1, 0.4] });
    expect(Array.from(a.gtIndex)).toEqual([0, BG, 1, IG, IG]);
  });

  // X = [0,0,10,6] overlaps A 0.6 (its best gt) and is B's best prior (IoU 4/64); Y is A's best (0.9).
  const conflict = {
    priors: flat([
      [0, 0, 10, 6],
      [0, 0, 10, 9],
    ]),
    gtBoxes: flat([
      [0, 0, 10, 10],
      [8, 4, 12, 6],
    ]),
    gtLabels: [0, 2],
  };

  it("gives a low-quality match to the gt it is best for (mmdet) or to its own best gt (torchvision)", () => {
    const mm = maxIoUAssign(conflict, { numClasses: C, posIouThr: 0.7, negIouThr: 0.4 });
    expect(Array.from(mm.gtIndex)).toEqual([1, 0]);
    expect(mm.maxIoU[0]).toBeCloseTo(4 / 64, 6);
    const tv = maxIoUAssign(conflict, { numClasses: C, posIouThr: 0.7, negIouThr: 0.4, lowQualityStyle: 'torchvision' });
    expect(Array.from(tv.gtIndex)).toEqual([0, 0]);
    const strict = maxIoUAssign(conflict, { numClasses: C, posIouThr: 0.7, negIouThr: 0.4, minPosIou: 0.1 });
    expect(Array.from(strict.gtIndex)).toEqual([IG, 0]);
  });

  it('gtMaxAssignAll matches every prior tied at the best IoU, otherwise the first', () => {
    const tie = { priors: flat([[0, 0, 10, 10], [10, 0, 20, 10], [40, 0, 50, 10]]), gtBoxes: flat([[5, 0, 15, 10]]), gtLabels: [4] };
    expect(Array.from(maxIoUAssign(tie, { numClasses: C, posIouThr: 0.5, negIouThr: 0.3 }).gtIndex)).toEqual([0, 0, BG]);
    expect(Array.from(maxIoUAssign(tie, { numClasses: C, posIouThr: 0.5, negIouThr: 0.3, gtMaxAssignAll: false }).gtIndex)).toEqual([0, IG, BG]);
  });

  it('ignores invalid priors and priors inside crowd boxes, and never picks them as a best match', () => {
    const a = maxIoUAssign({ ...input, validFlags: Uint8Array.from([0, 1, 1, 1, 1]) }, { numClasses: C, posIouThr: 0.7, negIouThr: 0.4 });
    // P0 is gone, so G0's best prior is P4 (0.5) and becomes a low-quality positive.
    expect(Array.from(a.gtIndex)).toEqual([IG, BG, 1, BG, 0]);
    const crowd = maxIoUAssign(input, { numClasses: C, posIouThr: 0.7, negIouThr: 0.4, ignoreBoxes: flat([[95, 95, 120, 120]]), ignoreIofThr: 0.5 });
    expect(Array.from(crowd.gtIndex)).toEqual([0, BG, 1, IG, IG]);
  });

  it('with no gts every valid prior is background', () => {
    const a = maxIoUAssign({ priors: input.priors, gtBoxes: new Float32Array(0), gtLabels: [], validFlags: Uint8Array.from([1, 1, 0, 1, 1]) }, { numClasses: C, posIouThr: 0.5, negIouThr: 0.4 });
    expect(Array.from(a.gtIndex)).toEqual([BG, BG, IG, BG, BG]);
    expect(Array.from(a.labels)).toEqual([C, C, -1, C, C]);
  });

  it('validates inputs and options', () => {
    expect(() => maxIoUAssign(input, { numClasses: C, posIouThr: 0.5, negIouThr: 0.4, posThr: 1 } as never)).toThrow(/unknown option 'posThr'/);
    expect(() => maxIoUAssign({ ...input, gtLabels: [3, 7] }, { numClasses: C, posIouThr: 0.5, negIouThr: 0.4 })).toThrow(/gtLabels\[1\] = 7/);
    expect(() => maxIoUAssign({ ...input, gtLabels: [3] }, { numClasses: C, posIouThr: 0.5, negIouThr: 0.4 })).toThrow(/gtLabels has 1 entries for 2/);
    expect(() => maxIoUAssign({ ...input, validFlags: new Uint8Array(2) }, { numClasses: C, posIouThr: 0.5, negIouThr: 0.4 })).toThrow(/validFlags has 2 entries for 5 priors/);
  });
});

describe('maxIoUAssign vs torchvision Matcher', () => {
  const fx = loadFixture<{
    anchors: number[][];
    cases: { gts: number[][]; high: number; low: number; allow_low_quality_matches: boolean; matches: number[] }[];
  }>('matcher.json');

  it('reproduces Matcher(high, low, allow_low_quality_matches) on every fixture case', () => {
    const priors = flat(fx.anchors);
    expect(fx.cases.length).toBe(9);
    for (const c of fx.cases) {
      const a = maxIoUAssign(
        { priors, gtBoxes: flat(c.gts), gtLabels: c.gts.map(() => 0) },
        { numClasses: 1, posIouThr: c.high, negIouThr: c.low, matchLowQuality: c.allow_low_quality_matches, lowQualityStyle: 'torchvision' },
      );
      expect(Array.from(a.gtIndex)).toEqual(c.matches);
    }
  });
});

/** mmdetection's MaxIoUAssigner.assign_wrt_overlaps, transcribed in float64 for the test. */
function mmdetAssign64(priors: Box64[], gts: Box64[], pos: number, neg: number, minPos: number, assignAll: boolean): number[] {
  const ov = gts.map((g) => priors.map((p) => iou64(p, g))); // [G, N]
  const assigned = priors.map(() => IG);
  priors.forEach((_, i) => {
    let best = -Infinity;
    let arg = 0;
    ov.forEach((row, g) => {
      if (row[i]! > best) {
        best = row[i]!;
        arg = g;
      }
    });
    if (best >= 0 && best < neg) assigned[i] = BG;
    if (best >= pos) assigned[i] = arg;
  });
  ov.forEach((row, g) => {
    const gtMax = Math.max(...row);
    if (gtMax < minPos) return;
    if (assignAll) row.forEach((v, i) => v === gtMax && (assigned[i] = g));
    else assigned[row.indexOf(gtMax)] = g;
  });
  return assigned;
}

describe('maxIoUAssign vs a float64 mmdetection transcription', () => {
  it('agrees on random priors and gts for several settings', () => {
    const rand = rng(31);
    for (const [pos, neg, minPos, assignAll] of [
      [0.5, 0.4, 0, true],
      [0.6, 0.3, 0.2, false],
      [0.4, 0.4, 0.1, true],
    ] as const) {
      const priors = randomBoxes(rand, 300, 80, 30);
      const gts = randomBoxes(rand, 7, 80, 30);
      const want = mmdetAssign64(priors, gts, pos, neg, minPos, assignAll);
      const got = maxIoUAssign(
        { priors: flat(priors), gtBoxes: flat(gts), gtLabels: gts.map((_, g) => g % C) },
        { numClasses: C, posIouThr: pos, negIouThr: neg, minPosIou: minPos, gtMaxAssignAll: assignAll },
      );
      expect(Array.from(got.gtIndex)).toEqual(want);
      expect(got.numPositive).toBeGreaterThan(5);
    }
  });
});
