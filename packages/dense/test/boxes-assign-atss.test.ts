import { describe, expect, it } from 'vitest';
import { ASSIGN_BACKGROUND as BG, ASSIGN_IGNORE as IG, atssAssign, createAnchorGenerator } from '../src/index.js';
import { flat, iou64, randomBoxes, rng, type Box64 } from './fixtures/geometry/reference.js';

describe('atssAssign (hand-worked cases)', () => {
  // Two levels of one square anchor per cell, centred in the cell: level 0 stride 8 size 16 on
  // a 4x4 map (centres 4, 12, 20, 28), level 1 stride 16 size 32 on 2x2 (centres 8, 24).
  const gen = createAnchorGenerator({ strides: [8, 16], ratios: [1], scales: [2], centerOffset: 0.5 });
  const levels = gen.gridPriors([
    [4, 4],
    [2, 2],
  ]);
  const priors = new Float32Array([...levels[0]!, ...levels[1]!]);
  const numPerLevel = [16, 4];

  it('picks top-k candidates per level by centre distance and thresholds at mean + std', () => {
    // gt centre (14, 13). Level 0 nearest 3: cells (12,12) IoU 168/280 = 0.6, (20,12) 120/328,
    // (12,20) 98/350. Level 1 nearest 3: (8,8) 192/1024, (24,8) 168/1048, (8,24) 176/1040.
    // mean 0.29382, unbiased std 0.16958 -> threshold 0.46340: only (12,12), index 1*4+1 = 5.
    const a = atssAssign({ priors, gtBoxes: flat([[6, 7, 22, 19]]), gtLabels: [2] }, { numClasses: 3, numPerLevel, topk: 3 });
    const want = new Array(20).fill(BG);
    want[5] = 0;
    expect(Array.from(a.gtIndex)).toEqual(want);
    expect(a.labels[5]).toBe(2);
    expect(a.labels[0]).toBe(3);
    expect(a.maxIoU[5]).toBeCloseTo(0.6, 6);
    expect(a.maxIoU[16]).toBeCloseTo(0.1875, 6);
    expect(a.numPositive).toBe(1);
  });

  it('skips invalid priors: the next nearest valid prior becomes a candidate', () => {
    // Without (12,12), level-0 candidates are (20,12) 0.36585, (12,20) 0.28, (12,4) 70/378 = 0.18519;
    // with the level-1 three: mean 0.22468, std 0.08143 -> threshold 0.30611: only (20,12), index 6.
    const validFlags = new Uint8Array(20).fill(1);
    validFlags[5] = 0;
    const a = atssAssign({ priors, gtBoxes: flat([[6, 7, 22, 19]]), gtLabels: [0], validFlags }, { numClasses: 1, numPerLevel, topk: 3 });
    const want = new Array(20).fill(BG);
    want[5] = IG;
    want[6] = 0;
    expect(Array.from(a.gtIndex)).toEqual(want);
  });

  it('sends a prior positive for two gts to the gt it overlaps most, the first on ties', () => {
    // G0 = [0,0,10,10], G1 = [1,0,11,10]; p0 = G0, p1 = G1, p2 = [0.5,0,10.5,10] has IoU 95/105
    // with both; p3..p6 overlap nothing. All 7 are candidates (topk 7): for each gt the IoUs are
    // [1, 0.81818, 0.90476, 0, 0, 0, 0], mean 0.38899, std 0.48799 -> threshold 0.87698.
    const input = {
      priors: flat([
        [0, 0, 10, 10],
        [1, 0, 11, 10],
        [0.5, 0, 10.5, 10],
        [50, 50, 60, 60],
        [70, 50, 80, 60],
        [50, 70, 60, 80],
        [70, 70, 80, 80],
      ]),
      gtBoxes: flat([
        [0, 0, 10, 10],
        [1, 0, 11, 10],
      ]),
      gtLabels: [0, 1],
    };
    const a = atssAssign(input, { numClasses: 2, numPerLevel: [7], topk: 7 });
    expect(Array.from(a.gtIndex)).toEqual([0, 1, 0, BG, BG, BG, BG]);
    expect(Array.from(a.labels)).toEqual([0, 1, 0, 2, 2, 2, 2]);
  });

  it('requires the candidate centre to lie strictly inside the gt', () => {
    // Thin gt [0,0,10,2]. IoUs: p0 [0,0,10,10] 0.2 (centre outside), p1 [0,0,10,4] 0.5 (centre on
    // the edge y = 2), p2 [0,-1,10,3] 0.5 (centre inside), two far priors 0 -> threshold 0.49100.
    const input = {
      priors: flat([
        [0, 0, 10, 10],
        [0, 0, 10, 4],
        [0, -1, 10, 3],
        [50, 50, 60, 60],
        [70, 50, 80, 60],
      ]),
      gtBoxes: flat([[0, 0, 10, 2]]),
      gtLabels: [0],
    };
    const a = atssAssign(input, { numClasses: 1, numPerLevel: [5], topk: 9 });
    expect(Array.from(a.gtIndex)).toEqual([BG, BG, 0, BG, BG]);
  });

  it('breaks equal centre distances by the lower prior index; one candidate means std 0', () => {
    // gt [4,0,16,10], centre (10, 5): p0 and p1 are both 5 px away and overlap it 60/160.
    const input = { priors: flat([[0, 0, 10, 10], [10, 0, 20, 10]]), gtBoxes: flat([[4, 0, 16, 10]]), gtLabels: [0] };
    expect(Array.from(atssAssign(input, { numClasses: 1, numPerLevel: [2], topk: 1 }).gtIndex)).toEqual([0, BG]);
    // With both as candidates the threshold is 0.375 + 0 and both are positive.
    expect(Array.from(atssAssign(input, { numClasses: 1, numPerLevel: [2], topk: 2 }).gtIndex)).toEqual([0, 0]);
  });

  it('with no gts every valid prior is background; validates options', () => {
    const a = atssAssign({ priors, gtBoxes: new Float32Array(0), gtLabels: [] }, { numClasses: 3, numPerLevel });
    expect(Array.from(a.gtIndex)).toEqual(new Array(20).fill(BG));
    expect(() => atssAssign({ priors, gtBoxes: new Float32Array(0), gtLabels: [] }, { numClasses: 3, numPerLevel: [16, 3] })).toThrow(/sums to 19 but there are 20 priors/);
    expect(() => atssAssign({ priors, gtBoxes: new Float32Array(0), gtLabels: [] }, { numClasses: 3, numPerLevel, topK: 9 } as never)).toThrow(/unknown option 'topK'/);
  });
});

/** ATSS written directly from the paper's steps in float64, sorting whole levels (test only). */
function atss64(priors: Box64[], numPerLevel: number[], gts: Box64[], valid: boolean[], topk: number): number[] {
  const centre = (b: Box64) => [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2] as const;
  const assigned: number[] = priors.map((_, i) => (valid[i] ? -1 : -2));
  const best = priors.map(() => -Infinity);
  gts.forEach((g, gi) => {
    const [gx, gy] = centre(g);
    const cand: number[] = [];
    let start = 0;
    for (const n of numPerLevel) {
      const ids = Array.from({ length: n }, (_, k) => start + k).filter((i) => valid[i]);
      const d = (i: number) => Math.hypot(centre(priors[i]!)[0] - gx, centre(priors[i]!)[1] - gy);
      ids.sort((a, b) => d(a) - d(b) || a - b);
      cand.push(...ids.slice(0, topk));
      start += n;
    }
    const ious = cand.map((i) => iou64(priors[i]!, g));
    const mean = ious.reduce((a, b) => a + b, 0) / ious.length;
    const std = ious.length > 1 ? Math.sqrt(ious.reduce((a, v) => a + (v - mean) ** 2, 0) / (ious.length - 1)) : 0;
    cand.forEach((i, k) => {
      const [cx, cy] = centre(priors[i]!);
      const inside = Math.min(cx - g[0], cy - g[1], g[2] - cx, g[3] - cy) > 0.01;
      if (ious[k]! >= mean + std && inside && ious[k]! > best[i]!) {
        best[i] = ious[k]!;
        assigned[i] = gi;
      }
    });
  });
  return assigned;
}

describe('atssAssign vs a float64 sort-based reference', () => {
  it('agrees on random gts over a 3-level anchor grid with invalid priors', () => {
    const gen = createAnchorGenerator({ strides: [8, 16, 32], ratios: [0.5, 1, 2], octaveBaseScale: 4, scalesPerOctave: 1 });
    const sizes: [number, number][] = [[8, 8], [4, 4], [2, 2]];
    const levels = gen.gridPriors(sizes);
    const all = new Float32Array(levels.reduce((s, l) => s + l.length, 0));
    let o = 0;
    for (const l of levels) {
      all.set(l, o);
      o += l.length;
    }
    const priors: Box64[] = Array.from({ length: all.length / 4 }, (_, i) => [all[4 * i]!, all[4 * i + 1]!, all[4 * i + 2]!, all[4 * i + 3]!]);
    const numPerLevel = levels.map((l) => l.length / 4);
    const flags = gen.validFlags(sizes, [50, 64]);
    const validFlags = new Uint8Array(priors.length);
    o = 0;
    for (const f of flags) {
      validFlags.set(f, o);
      o += f.length;
    }
    const rand = rng(21);
    let positives = 0;
    for (let trial = 0; trial < 5; trial++) {
      const gts = randomBoxes(rand, 6, 48, 30);
      const want = atss64(priors, numPerLevel, gts, Array.from(validFlags, (v) => v === 1), 9);
      const got = atssAssign({ priors: all, gtBoxes: flat(gts), gtLabels: gts.map(() => 0), validFlags }, { numClasses: 1, numPerLevel });
      expect(Array.from(got.gtIndex)).toEqual(want);
      positives += got.numPositive;
    }
    expect(positives).toBeGreaterThan(20);
  });
});
