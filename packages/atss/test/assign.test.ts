import { describe, expect, it } from 'vitest';
import { createAnchorGenerator } from '@hpf/dense';
import { atssTargets } from '../src/index.js';

// Hand-worked case (no torchvision ATSS exists to generate fixtures from).
// Two levels: stride 8 on a 4x4 map and stride 16 on a 2x2 map, one square anchor per location
// of side 2 * stride centred on the cell corner (mmdetection's centre offset 0):
//   level 0 anchor (x, y) = [8x - 8, 8y - 8, 8x + 8, 8y + 8], index 4y + x,
//   level 1 anchor (x, y) = [16x - 16, 16y - 16, 16x + 16, 16y + 16], index 16 + 2y + x.
// gt [2, 2, 18, 18] (centre (10, 10)), topk 4.
// Level 0 candidates (nearest centres): (8,8) d^2=8, (16,8) and (8,16) d^2=40, (16,16) d^2=72;
//   IoUs 196/316 = .620253, 140/372 = .376344 (twice), 100/412 = .242718.
// Level 1 candidates (all four): (16,16) 256/1024 = .25, (0,16) and (16,0) 224/1056 = .212121,
//   (0,0) 196/1084 = .180812.
// mean = .308839, sample std = .145911, threshold = .454750: only anchor 5 (IoU .620253) passes,
// and its centre (8, 8) lies inside the gt. Its centerness: l = t = 6, r = b = 10 -> sqrt(.6 * .6) = .6.
const generator = createAnchorGenerator({ strides: [8, 16], ratios: [1], octaveBaseScale: 2, scalesPerOctave: 1 });
const levels = generator.gridPriors([
  [4, 4],
  [2, 2],
]);
const anchors = new Float32Array([...levels[0]!, ...levels[1]!]);
const numPerLevel = [16, 4];

describe('atssTargets', () => {
  it('selects the hand-worked positive, its box target and centerness', () => {
    expect(Array.from(anchors.subarray(20, 24))).toEqual([0, 0, 16, 16]);
    const t = atssTargets(anchors, numPerLevel, { boxes: new Float32Array([2, 2, 18, 18]), labels: new Int32Array([3]), ignoreBoxes: new Float32Array(0) }, { numClasses: 5, topk: 4 });
    const expectedLabels = new Array(20).fill(5);
    expectedLabels[5] = 3;
    expect(Array.from(t.labels)).toEqual(expectedLabels);
    expect(t.numPositive).toBe(1);
    expect(Array.from(t.boxTargets.subarray(20, 24))).toEqual([2, 2, 18, 18]);
    expect(t.boxTargets.reduce((s, v) => s + Math.abs(v), 0)).toBe(40);
    expect(t.centerness[5]).toBeCloseTo(0.6, 6);
    expect(t.centerness.reduce((s, v) => s + v, 0)).toBeCloseTo(0.6, 6);
  });

  it('with a larger topk the threshold moves and the same anchor stays the only positive', () => {
    // topk 9 takes all 16 level-0 anchors' nearest 9 and the 4 of level 1: more low-IoU candidates
    // lower mean + std, and anchors (16, 8) / (8, 16) (IoU .376) must then be checked by hand:
    // recomputed below in float64 from the same geometry.
    const gt = [2, 2, 18, 18];
    const iou = (a: ArrayLike<number>) => {
      const iw = Math.max(0, Math.min(a[2]!, gt[2]!) - Math.max(a[0]!, gt[0]!));
      const ih = Math.max(0, Math.min(a[3]!, gt[3]!) - Math.max(a[1]!, gt[1]!));
      const inter = iw * ih;
      return inter / ((a[2]! - a[0]!) * (a[3]! - a[1]!) + 256 - inter);
    };
    const candidates: number[] = [];
    for (const [start, n] of [
      [0, 16],
      [16, 4],
    ] as const) {
      const idx = Array.from({ length: n }, (_, i) => start + i);
      const d = (i: number) => ((anchors[4 * i]! + anchors[4 * i + 2]!) / 2 - 10) ** 2 + ((anchors[4 * i + 1]! + anchors[4 * i + 3]!) / 2 - 10) ** 2;
      idx.sort((a, b) => d(a) - d(b) || a - b);
      candidates.push(...idx.slice(0, 9));
    }
    const ious = candidates.map((i) => iou(anchors.subarray(4 * i, 4 * i + 4)));
    const mean = ious.reduce((s, v) => s + v, 0) / ious.length;
    const std = Math.sqrt(ious.reduce((s, v) => s + (v - mean) ** 2, 0) / (ious.length - 1));
    const expected = candidates.filter((i, k) => {
      const cx = (anchors[4 * i]! + anchors[4 * i + 2]!) / 2;
      const cy = (anchors[4 * i + 1]! + anchors[4 * i + 3]!) / 2;
      return ious[k]! >= mean + std && Math.min(cx - 2, cy - 2, 18 - cx, 18 - cy) > 0.01;
    });
    const t = atssTargets(anchors, numPerLevel, { boxes: new Float32Array(gt), labels: new Int32Array([0]), ignoreBoxes: new Float32Array(0) }, { numClasses: 1, topk: 9 });
    const positives = Array.from(t.labels.entries()).filter(([, l]) => l === 0).map(([i]) => i);
    expect(positives).toEqual(expected.sort((a, b) => a - b));
    expect(positives.length).toBeGreaterThan(0);
  });

  it('ignores background anchors whose centre is inside a crowd box, never positives', () => {
    const t = atssTargets(
      anchors,
      numPerLevel,
      { boxes: new Float32Array([2, 2, 18, 18]), labels: new Int32Array([3]), ignoreBoxes: new Float32Array([4, 4, 30, 30]) },
      { numClasses: 5, topk: 4 },
    );
    // Centres strictly inside (4, 30): level 0 x, y in {8, 16, 24}, level 1 (16, 16) -> index 19.
    const ignored = Array.from(t.labels.entries()).filter(([, l]) => l === -1).map(([i]) => i);
    expect(ignored).toEqual([6, 7, 9, 10, 11, 13, 14, 15, 19]);
    expect(t.labels[5]).toBe(3); // the positive at (8, 8) stays positive
  });

  it('an image without boxes is all background', () => {
    const t = atssTargets(anchors, numPerLevel, { boxes: new Float32Array(0), labels: new Int32Array(0), ignoreBoxes: new Float32Array(0) }, { numClasses: 2, topk: 9 });
    expect(Array.from(t.labels)).toEqual(new Array(20).fill(2));
    expect(t.numPositive).toBe(0);
  });
});
