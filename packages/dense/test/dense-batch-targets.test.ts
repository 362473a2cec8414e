import { describe, expect, it } from 'vitest';
import { batchByLevel, batchTargets, concatLevels, foregroundIndices, pickRows, tileLevelPriors } from '../src/index.js';

// Two images, two levels of 3 and 2 priors, 2 classes (label 2 = background, -1 = ignored).
const labels = [Int32Array.from([2, 0, -1, 1, 2]), Int32Array.from([1, 2, 2, 2, 0])];
const perImage = labels.map((l, i) => ({
  labels: l,
  // 100 image + 10 prior + k, so every row says where it came from
  boxTargets: Float32Array.from({ length: 20 }, (_, v) => 100 * i + 10 * Math.floor(v / 4) + (v % 4)),
  weight: Float32Array.from({ length: 5 }, (_, p) => 100 * i + p + 0.5),
}));
const numPerLevel = [3, 2];
const anchors = [Float32Array.from({ length: 12 }, (_, v) => v), Float32Array.from({ length: 8 }, (_, v) => 50 + v)];

describe('batchTargets', () => {
  it('finds the positives in the order flattenLevels gives the predictions (level, image, prior)', () => {
    const t = batchTargets(perImage, numPerLevel, 2);
    // level 0: image 0 priors 0-2, image 1 priors 0-2 -> flat 0-5; level 1: image 0 priors 3-4, image 1 priors 3-4 -> flat 6-9
    expect(t.positives).toEqual([1, 3, 6, 9]);
    expect(t.numPositives).toBe(4);
    expect(Array.from(t.positiveLevels)).toEqual([0, 0, 1, 1]);
    expect(t.labelsByLevel.map((a) => Array.from(a))).toEqual([
      [2, 0, -1, 1, 2, 2],
      [1, 2, 2, 0],
    ]);
    // the same as the helpers it replaces in the adapters' losses
    expect(t.positives).toEqual(foregroundIndices(concatLevels(batchByLevel(labels, numPerLevel)), 2));
  });

  it('picks target rows, priors and per-level fields of the positives', () => {
    const t = batchTargets(perImage, numPerLevel, 2);
    expect(Array.from(t.pick('boxTargets', 4))).toEqual([10, 11, 12, 13, 100, 101, 102, 103, 30, 31, 32, 33, 140, 141, 142, 143]);
    expect(Array.from(t.pick('weight', 1))).toEqual([1.5, 100.5, 3.5, 104.5]);
    const flatBoxes = concatLevels(batchByLevel(perImage.map((p) => p.boxTargets), numPerLevel, 4));
    expect(t.pick('boxTargets', 4)).toEqual(pickRows(flatBoxes, t.positives, 4));
    const tiled = concatLevels(anchors.map((a) => tileLevelPriors(a, 2)));
    expect(t.pickPriors(anchors, 4)).toEqual(pickRows(tiled, t.positives, 4));
    expect(Array.from(t.pickPriors(anchors, 4))).toEqual([4, 5, 6, 7, 0, 1, 2, 3, 50, 51, 52, 53, 54, 55, 56, 57]);
    expect(t.byLevel('weight').map((a) => Array.from(a))).toEqual([
      [0.5, 1.5, 2.5, 100.5, 101.5, 102.5],
      [3.5, 4.5, 103.5, 104.5],
    ]);
  });

  it('handles a batch without positives', () => {
    const none = [{ labels: Int32Array.from([2, 2, -1]), d: new Float32Array(3) }];
    const t = batchTargets(none, [3], 2);
    expect(t.positives).toEqual([]);
    expect(t.pick('d', 1)).toEqual(new Float32Array(0));
  });

  it('names the image or field whose length does not fit the priors', () => {
    expect(() => batchTargets([{ labels: new Int32Array(4) }], numPerLevel, 2)).toThrow(/image 0 has 4 labels, expected 5 priors/);
    const t = batchTargets(perImage, numPerLevel, 2);
    expect(() => t.pick('boxTargets', 2)).toThrow(/field 'boxTargets' of image 0/);
    expect(() => t.pickPriors([anchors[0]!], 4)).toThrow(/expected 2 levels/);
  });
});
