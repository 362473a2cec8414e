import { describe, expect, it } from 'vitest';
import { createAnchorGenerator } from '@hpf/dense';
import { gflTargets } from '../src/index.js';

// GFL assigns with ATSS. Hand-worked case (no torchvision GFL exists to generate fixtures from):
// two levels, stride 8 on a 4x4 map and stride 16 on a 2x2 map, one square anchor per location of
// side 2 * stride centred on the cell corner (mmdetection's centre offset 0):
//   level 0 anchor (x, y) = [8x - 8, 8y - 8, 8x + 8, 8y + 8], index 4y + x,
//   level 1 anchor (x, y) = [16x - 16, 16y - 16, 16x + 16, 16y + 16], index 16 + 2y + x.
// gt A [2, 2, 18, 18] (centre (10, 10)), topk 4:
//   level 0 candidates (8,8) IoU 196/316 = .620253, (16,8), (8,16) 140/372 = .376344, (16,16) 100/412 = .242718;
//   level 1 candidates (16,16) .25, (0,16), (16,0) 224/1056 = .212121, (0,0) 196/1084 = .180812;
//   mean .308839 + sample std .145911 = .454750: only anchor 5 passes (centre (8, 8) inside A).
// gt B [36, 4, 60, 28] (centre (48, 16), level 0 covers x <= 24 only, so all its candidates are
// far): level 0 nearest (24, 16) d^2 576, (24, 8) and (24, 24) d^2 640, (16, 16) d^2 1024;
//   IoU with B: (24,16) [16,8,32,24] -> inter 0; every level-0 candidate has IoU 0.
//   level 1 (16, 0) [0,-16,32,16] inter 0; (16,16) [0,0,32,32] inter 0; (0, *) inter 0: all 0.
//   mean 0, std 0, threshold 0: IoU >= 0 holds for all 8 but no candidate centre lies inside B
//   (all have x <= 24 < 36), so B gets no positive.
const generator = createAnchorGenerator({ strides: [8, 16], ratios: [1], octaveBaseScale: 2, scalesPerOctave: 1 });
const levels = generator.gridPriors([
  [4, 4],
  [2, 2],
]);
const anchors = new Float32Array([...levels[0]!, ...levels[1]!]);
const numPerLevel = [16, 4];
const none = new Float32Array(0);

describe('gflTargets (ATSS assignment)', () => {
  it('selects the hand-worked positive and its gt box; a gt without an inside candidate gets none', () => {
    const t = gflTargets(anchors, numPerLevel, { boxes: new Float32Array([2, 2, 18, 18, 36, 4, 60, 28]), labels: new Int32Array([3, 1]), ignoreBoxes: none }, { numClasses: 5, topk: 4 });
    const expected = new Array(20).fill(5);
    expected[5] = 3;
    expect(Array.from(t.labels)).toEqual(expected);
    expect(t.numPositive).toBe(1);
    expect(Array.from(t.boxTargets.subarray(20, 24))).toEqual([2, 2, 18, 18]);
    expect(t.boxTargets.reduce((s, v) => s + Math.abs(v), 0)).toBe(40);
  });

  it('ignores background anchors whose centre is inside a crowd box, never the positive', () => {
    const t = gflTargets(anchors, numPerLevel, { boxes: new Float32Array([2, 2, 18, 18]), labels: new Int32Array([3]), ignoreBoxes: new Float32Array([4, 4, 30, 30]) }, { numClasses: 5, topk: 4 });
    // Centres strictly inside (4, 30): level 0 x, y in {8, 16, 24} except (8, 8), level 1 (16, 16).
    const ignored = Array.from(t.labels.entries()).filter(([, l]) => l === -1).map(([i]) => i);
    expect(ignored).toEqual([6, 7, 9, 10, 11, 13, 14, 15, 19]);
    expect(t.labels[5]).toBe(3);
  });

  it('an image without boxes is all background', () => {
    const t = gflTargets(anchors, numPerLevel, { boxes: none, labels: new Int32Array(0), ignoreBoxes: none }, { numClasses: 2, topk: 9 });
    expect(Array.from(t.labels)).toEqual(new Array(20).fill(2));
    expect(t.numPositive).toBe(0);
  });
});
