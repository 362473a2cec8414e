import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { createAnchorGenerator, createPointGenerator, featureSizesFor, PriorCache } from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const rows = (a: Float32Array, dim: number): number[][] =>
  Array.from({ length: a.length / dim }, (_, i) => Array.from(a.subarray(i * dim, (i + 1) * dim)));

describe('createAnchorGenerator', () => {
  // Hand-worked: ratio r = h / w, w = base * scale / sqrt(r), h = base * scale * sqrt(r).
  // Level 0 (stride 8): r=1,s=1 -> 8x8; r=1,s=2 -> 16x16; r=4,s=1 -> 4x16; r=4,s=2 -> 8x32.
  const gen = createAnchorGenerator({ strides: [8, 16], ratios: [1, 4], scales: [1, 2] });

  it('builds base anchors with ratios outer, scales inner (mmdetection scale_major)', () => {
    expect(rows(gen.baseAnchors(0), 4)).toEqual([
      [-4, -4, 4, 4],
      [-8, -8, 8, 8],
      [-2, -8, 2, 8],
      [-4, -16, 4, 16],
    ]);
    expect(rows(gen.baseAnchors(1), 4)).toEqual([
      [-8, -8, 8, 8],
      [-16, -16, 16, 16],
      [-4, -16, 4, 16],
      [-8, -32, 8, 32],
    ]);
    expect(gen.numBasePriors).toEqual([4, 4]);
  });

  it('orders scales outer when scaleMajor is false', () => {
    const g = createAnchorGenerator({ strides: [8], ratios: [1, 4], scales: [1, 2], scaleMajor: false });
    expect(rows(g.baseAnchors(0), 4)).toEqual([
      [-4, -4, 4, 4],
      [-2, -8, 2, 8],
      [-8, -8, 8, 8],
      [-4, -16, 4, 16],
    ]);
  });

  it('flattens a 2-level grid in (y, x, anchor) order with centres at x*stride, y*stride', () => {
    const [l0, l1] = gen.gridPriors([
      [2, 3],
      [1, 2],
    ]);
    expect(l0!.length).toBe(2 * 3 * 4 * 4);
    expect(l1!.length).toBe(1 * 2 * 4 * 4);
    const a0 = rows(l0!, 4);
    // location (y=1, x=2) is row-major index 5; its third anchor (r=4, s=1) is 4x16 centred at (16, 8).
    expect(a0[5 * 4 + 2]).toEqual([14, 0, 18, 16]);
    // location (y=0, x=1), first anchor: 8x8 centred at (8, 0).
    expect(a0[1 * 4 + 0]).toEqual([4, -4, 12, 4]);
    const a1 = rows(l1!, 4);
    // level 1, location (0, 1), last anchor: 16x64 centred at (16, 0).
    expect(a1[1 * 4 + 3]).toEqual([8, -32, 24, 32]);
    // Every anchor's centre and size, checked against the formula in float64.
    for (let y = 0; y < 2; y++)
      for (let x = 0; x < 3; x++)
        for (let a = 0; a < 4; a++) {
          const [x1, y1, x2, y2] = a0[(y * 3 + x) * 4 + a]!;
          const r = [1, 1, 4, 4][a]!;
          const s = [1, 2, 1, 2][a]!;
          expect((x1! + x2!) / 2).toBe(x * 8);
          expect((y1! + y2!) / 2).toBe(y * 8);
          expect(x2! - x1!).toBeCloseTo((8 * s) / Math.sqrt(r), 5);
          expect(y2! - y1!).toBeCloseTo(8 * s * Math.sqrt(r), 5);
        }
  });

  it('applies centerOffset as a fraction of the base size', () => {
    const g = createAnchorGenerator({ strides: [8, 16], ratios: [1], scales: [1], centerOffset: 0.5 });
    const [l0, l1] = g.gridPriors([
      [1, 2],
      [1, 1],
    ]);
    expect(rows(l0!, 4)).toEqual([
      [0, 0, 8, 8],
      [8, 0, 16, 8],
    ]);
    expect(rows(l1!, 4)).toEqual([[0, 0, 16, 16]]);
  });

  it('expands octave scales like RetinaNet (octave base 4, 3 scales per octave)', () => {
    const g = createAnchorGenerator({ strides: [8, 16, 32, 64, 128], ratios: [0.5, 1, 2], octaveBaseScale: 4, scalesPerOctave: 3 });
    expect(g.scales).toHaveLength(3);
    g.scales.forEach((s, i) => expect(s).toBeCloseTo(4 * 2 ** (i / 3), 12));
    const base = rows(g.baseAnchors(2), 4); // stride 32
    expect(base).toHaveLength(9);
    for (let r = 0; r < 3; r++)
      for (let s = 0; s < 3; s++) {
        const ratio = [0.5, 1, 2][r]!;
        const w = (32 * 4 * 2 ** (s / 3)) / Math.sqrt(ratio);
        const h = 32 * 4 * 2 ** (s / 3) * Math.sqrt(ratio);
        const got = base[r * 3 + s]!;
        const want = [-w / 2, -h / 2, w / 2, h / 2];
        got.forEach((v, k) => expect(v).toBeCloseTo(want[k]!, 3));
      }
  });

  it('marks valid flags for a padded image as mmdetection does', () => {
    // Image 9x9 padded into a batch whose level-0 map is 2x3 (stride 8) and level-1 map 1x2.
    // Valid extent: min(ceil(9 / 8), 2) = 2 rows, min(ceil(9 / 8), 3) = 2 columns; level 1: 1x1.
    const [f0, f1] = gen.validFlags(
      [
        [2, 3],
        [1, 2],
      ],
      [9, 9],
    );
    const perLoc = (f: Uint8Array) => Array.from({ length: f.length / 4 }, (_, i) => f.subarray(i * 4, i * 4 + 4).every((v) => v === f[i * 4]) ? f[i * 4] : -1);
    expect(perLoc(f0!)).toEqual([1, 1, 0, 1, 1, 0]);
    expect(perLoc(f1!)).toEqual([1, 0]);
    // Wide, short image: 5 px high, 17 px wide -> level 0: 1 row, 3 columns.
    const [g0] = gen.validFlags(
      [
        [2, 3],
        [1, 2],
      ],
      [5, 17],
    );
    expect(perLoc(g0!)).toEqual([1, 1, 1, 0, 0, 0]);
  });

  it('rejects bad options and bad sizes with named errors', () => {
    expect(() => createAnchorGenerator({ strides: [8], ratios: [1], scales: [1], ratio: 2 } as never)).toThrow(/unknown option 'ratio'/);
    expect(() => createAnchorGenerator({ strides: [8], ratios: [1] })).toThrow(/scales/);
    expect(() => createAnchorGenerator({ strides: [8], ratios: [1], scales: [1], octaveBaseScale: 4, scalesPerOctave: 3 })).toThrow(/not both/);
    expect(() => createAnchorGenerator({ strides: [8, -16], ratios: [1], scales: [1] })).toThrow(/strides\[1\]/);
    expect(() => gen.gridPriors([[2, 2]])).toThrow(/2 levels/);
    expect(() => gen.levelAnchors(0, [2.5, 2])).toThrow(/featureSize/);
    expect(() => gen.levelAnchors(2, [2, 2])).toThrow(/level 2/);
  });
});

describe('createPointGenerator', () => {
  it('puts points at cell centres (offset 0.5) in row-major order', () => {
    const g = createPointGenerator({ strides: [8, 16] });
    const [p0, p1] = g.gridPriors([
      [2, 2],
      [1, 3],
    ]);
    expect(rows(p0!, 2)).toEqual([
      [4, 4],
      [12, 4],
      [4, 12],
      [12, 12],
    ]);
    expect(rows(p1!, 2)).toEqual([
      [8, 8],
      [24, 8],
      [40, 8],
    ]);
  });

  it('supports offset 0 and withStride columns', () => {
    const g = createPointGenerator({ strides: [32], offset: 0, withStride: true });
    expect(g.priorDim).toBe(4);
    expect(rows(g.levelPoints(0, [1, 2]), 4)).toEqual([
      [0, 0, 32, 32],
      [32, 0, 32, 32],
    ]);
  });

  it('gives one valid flag per location', () => {
    const g = createPointGenerator({ strides: [8] });
    expect(Array.from(g.validFlags([[3, 3]], [10, 20])[0]!)).toEqual([1, 1, 1, 1, 1, 1, 0, 0, 0]);
  });
});

describe('featureSizesFor', () => {
  it('is ceil(size / stride) per level', () => {
    expect(featureSizesFor([100, 130], [8, 16, 32, 64, 128])).toEqual([
      [13, 17],
      [7, 9],
      [4, 5],
      [2, 3],
      [1, 2],
    ]);
  });
});

describe('PriorCache', () => {
  const gen = createAnchorGenerator({ strides: [8, 16], ratios: [0.5, 1, 2], octaveBaseScale: 4, scalesPerOctave: 3 });
  const sizes = featureSizesFor([64, 48], gen.strides);

  it('returns the same kept tensors for the same sizes, safe inside tf.tidy', async () => {
    const cache = new PriorCache(gen);
    const before = tf.memory().numTensors;
    const first = tf.tidy(() => cache.get(sizes).all);
    expect(first.isDisposed).toBe(false);
    const afterFirst = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) tf.tidy(() => cache.get(sizes).all);
    expect(tf.memory().numTensors).toBe(afterFirst);
    const again = cache.get(sizes);
    expect(again.all).toBe(first);
    expect(again.numPerLevel).toEqual([8 * 6 * 9, 4 * 3 * 9]);
    expect(again.all.shape).toEqual([(48 + 12) * 9, 4]);
    // The tensor view holds exactly the generator's arrays, level 0 first.
    const data = await again.all.data();
    const arrays = gen.gridPriors(sizes);
    expect(Array.from(data.subarray(0, arrays[0]!.length))).toEqual(Array.from(arrays[0]!));
    expect(Array.from(data.subarray(arrays[0]!.length))).toEqual(Array.from(arrays[1]!));
    cache.dispose();
    expect(first.isDisposed).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('evicts the oldest entry beyond maxEntries', () => {
    const cache = new PriorCache(gen, 2);
    const before = tf.memory().numTensors;
    const a = cache.get(featureSizesFor([32, 32], gen.strides));
    cache.get(featureSizesFor([64, 32], gen.strides));
    cache.get(featureSizesFor([96, 32], gen.strides));
    expect(cache.size).toBe(2);
    expect(a.all.isDisposed).toBe(true);
    expect(tf.memory().numTensors).toBe(before + 2 * 3);
    cache.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
