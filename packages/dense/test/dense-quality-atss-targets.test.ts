import { describe, expect, it } from 'vitest';
import { atssBoxTargets, createAnchorGenerator } from '../src/index.js';

// Two levels (stride 8 on 4x4, stride 16 on 2x2), square anchors of side 2 * stride centred on the
// cell corner. gt [2, 2, 18, 18], topk 4: candidate IoUs .620, .376, .376, .243 (level 0) and
// .25, .212, .212, .181 (level 1); mean + sample std = .4548, so only anchor 5 ([0, 0, 16, 16],
// centre (8, 8) inside the gt) is positive. A crowd box [20, 20, 40, 40] ignores the background
// anchors with centres strictly inside it: level 0 (24, 24) -> index 15.
describe('atssBoxTargets', () => {
  it('labels, gt box of the positive and crowd ignoring (hand-worked)', () => {
    const levels = createAnchorGenerator({ strides: [8, 16], ratios: [1], octaveBaseScale: 2, scalesPerOctave: 1 }).gridPriors([
      [4, 4],
      [2, 2],
    ]);
    const anchors = new Float32Array([...levels[0]!, ...levels[1]!]);
    const t = atssBoxTargets(anchors, [16, 4], { boxes: new Float32Array([2, 2, 18, 18]), labels: new Int32Array([1]), ignoreBoxes: new Float32Array([20, 20, 40, 40]) }, { numClasses: 3, topk: 4 });
    const expected = new Array(20).fill(3);
    expected[5] = 1;
    expected[15] = -1;
    expect(Array.from(t.labels)).toEqual(expected);
    expect(t.numPositive).toBe(1);
    expect(Array.from(t.boxTargets.subarray(20, 24))).toEqual([2, 2, 18, 18]);
    expect(t.boxTargets.reduce((s, v) => s + Math.abs(v), 0)).toBe(40);
  });
});
