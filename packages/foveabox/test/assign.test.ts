import { describe, expect, it } from 'vitest';
import { createPointGenerator, type SizeHW } from '@hpf/dense';
import { foveaTargets } from '../src/index.js';

// Hand-worked cases (no torchvision FoveaBox exists to generate fixtures from). Two levels:
// stride 8 on a 4x4 map (points (8 col + 4, 8 row + 4), index 4 row + col) and stride 16 on a 2x2
// map (points (16 col + 8, 16 row + 8), index 16 + 2 row + col).
const sizes: SizeHW[] = [
  [4, 4],
  [2, 2],
];
const levels = createPointGenerator({ strides: [8, 16] }).gridPriors(sizes);
const points = new Float32Array([...levels[0]!, ...levels[1]!]);
const none = new Float32Array(0);
const base = { numClasses: 5, strides: [8, 16], baseEdges: [16, 32], sigma: 0.4 };

describe('foveaTargets', () => {
  it('assigns by scale range and fovea area, with log-space targets (hand-worked)', () => {
    // A [4, 4, 20, 20]: sqrt(area) 16, in both ranges [1, 20] and [16, 64].
    //   level 0: x1 / s = .5, half-width 1 cell: cols ceil(.5 + .6 - .5) = 1 .. floor(.5 + 1.4 - .5) = 1,
    //   rows the same -> cell (1, 1), index 5, point (12, 12): distances (8, 8, 8, 8) / 16 = .5.
    //   level 1: x1 / s = .25, half-width .5: cols ceil(.05) = 1 .. floor(.45) = 0 -> no cell.
    // B [0, 0, 48, 40]: sqrt(1920) = 43.8, level 1 only. x: half-width 1.5, cols ceil(.4) = 1 ..
    //   floor(1.6) = 1; y: half-height 1.25, rows ceil(.25) = 1 .. floor(1.25) = 1 -> index 19,
    //   point (24, 24): distances (24, 24, 24, 16) / 32.
    const t = foveaTargets(points, sizes, { boxes: new Float32Array([4, 4, 20, 20, 0, 0, 48, 40]), labels: new Int32Array([2, 4]), ignoreBoxes: none }, {
      ...base,
      scaleRanges: [
        [1, 20],
        [16, 64],
      ],
    });
    const expected = new Array(20).fill(5);
    expected[5] = 2;
    expected[19] = 4;
    expect(Array.from(t.labels)).toEqual(expected);
    expect(t.numPositive).toBe(2);
    Array.from(t.boxTargets.subarray(20, 24)).forEach((v) => expect(v).toBeCloseTo(Math.log(0.5), 6));
    Array.from(t.boxTargets.subarray(76, 80)).forEach((v, j) => expect(v).toBeCloseTo(Math.log([0.75, 0.75, 0.75, 0.5][j]!), 6));
    expect(t.boxTargets.reduce((s, v) => s + Math.abs(v), 0)).toBeCloseTo(4 * Math.log(2) + 3 * Math.log(4 / 3) + Math.log(2), 5);
  });

  it('a smaller gt overwrites a larger one where their foveas overlap, whatever the annotation order', () => {
    // C [0, 0, 32, 32]: half-width 2 cells, cols/rows ceil(1.2 - .5) = 1 .. floor(2.8 - .5) = 2:
    //   indices 5, 6, 9, 10. D = A [4, 4, 20, 20]: index 5 only. D is listed first.
    const t = foveaTargets(points, sizes, { boxes: new Float32Array([4, 4, 20, 20, 0, 0, 32, 32]), labels: new Int32Array([1, 3]), ignoreBoxes: none }, {
      ...base,
      scaleRanges: [
        [1, 100],
        [1000, 2000],
      ],
    });
    const positives = Array.from(t.labels.entries()).filter(([, l]) => l < 5);
    expect(positives).toEqual([
      [5, 1],
      [6, 3],
      [9, 3],
      [10, 3],
    ]);
    // Index 5 carries D's target (.5 each side); index 10 (point (20, 20)) C's: (20, 20, 12, 12) / 16.
    Array.from(t.boxTargets.subarray(20, 24)).forEach((v) => expect(v).toBeCloseTo(Math.log(0.5), 6));
    Array.from(t.boxTargets.subarray(40, 44)).forEach((v, j) => expect(v).toBeCloseTo(Math.log([1.25, 1.25, 0.75, 0.75][j]!), 6));
  });

  it('clamps normalised distances to [1/16, 16] and ignores background points inside crowd boxes', () => {
    // E [0, 0, 8, 8] with base edge 1000 on level 0: half-width .5 cell, cols ceil(0 + .3 - .5) = 0 ..
    //   floor(.7 - .5) = 0 -> index 0, point (4, 4), distances 4 / 1000 < 1/16 -> log(1/16).
    const t = foveaTargets(points, sizes, { boxes: new Float32Array([0, 0, 8, 8]), labels: new Int32Array([0]), ignoreBoxes: new Float32Array([0, 0, 14, 14]) }, {
      ...base,
      baseEdges: [1000, 32],
      scaleRanges: [
        [1, 20],
        [100, 200],
      ],
    });
    expect(t.labels[0]).toBe(0);
    Array.from(t.boxTargets.subarray(0, 4)).forEach((v) => expect(v).toBeCloseTo(Math.log(1 / 16), 6));
    // Points strictly inside (0, 14): (4, 4) is the positive; level 0 (12, 4), (4, 12), (12, 12)
    // and level 1 (8, 8) are ignored.
    expect(Array.from(t.labels.entries()).filter(([, l]) => l === -1).map(([i]) => i)).toEqual([1, 4, 5, 16]);
  });

  it('an image without boxes is all background; bad sizes are errors', () => {
    const opts = { ...base, scaleRanges: [[1, 64], [32, 128]] as Array<[number, number]> };
    const t = foveaTargets(points, sizes, { boxes: none, labels: new Int32Array(0), ignoreBoxes: none }, opts);
    expect(Array.from(t.labels)).toEqual(new Array(20).fill(5));
    expect(t.numPositive).toBe(0);
    expect(() => foveaTargets(points.subarray(2), sizes, { boxes: none, labels: new Int32Array(0), ignoreBoxes: none }, opts)).toThrow(/19 points/);
  });
});
