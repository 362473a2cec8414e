import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { alignedBoxIoU, boxIoU, boxIoUArray } from '../src/index.js';
import { iou64, loadFixture, randomBoxes, rng, type Box64 } from './fixtures/geometry/reference.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

interface IoUFixture {
  iou: { a: Box64[]; b: Box64[]; iou: number[][]; giou: number[][] };
}
const fx = loadFixture<IoUFixture>('geometry.json').iou;

const degenerateA: Box64[] = [
  [0, 0, 10, 10], // identical to b[0]
  [20, 20, 30, 30], // no overlap with anything in b except b[2] (touching edge)
  [5, 5, 5, 8], // zero width
  [3, 3, 3, 3], // a point
  [0, 0, 4, 4], // inside b[0]
];
const degenerateB: Box64[] = [
  [0, 0, 10, 10],
  [40, 40, 50, 60],
  [30, 20, 35, 30], // shares an edge with a[1]: zero intersection
  [3, 3, 3, 3], // the same point as a[3]
];

async function pairwise(a: Box64[], b: Box64[], mode: 'iou' | 'iof' | 'giou'): Promise<number[][]> {
  const r = tf.tidy(() => boxIoU(tf.tensor2d(a), tf.tensor2d(b), mode));
  const out = (await r.array()) as number[][];
  r.dispose();
  return out;
}

describe('boxIoU', () => {
  for (const mode of ['iou', 'iof', 'giou'] as const) {
    it(`matches a float64 reference on random and degenerate boxes (${mode})`, async () => {
      const rand = rng(7);
      const a = [...randomBoxes(rand, 30), ...degenerateA];
      const b = [...randomBoxes(rand, 20), ...degenerateB];
      const got = await pairwise(a, b, mode);
      expect(got).toHaveLength(a.length);
      a.forEach((ba, i) => b.forEach((bb, j) => expect(got[i]![j]).toBeCloseTo(iou64(ba, bb, mode), 5)));
    });
  }

  it('gives exact values for the degenerate cases', async () => {
    const iou = await pairwise(degenerateA, degenerateB, 'iou');
    expect(iou[0]![0]).toBeCloseTo(1, 6); // identical
    expect(iou[1]![2]).toBe(0); // touching edges
    expect(iou[2]![0]).toBe(0); // zero-width box inside: intersection 0
    expect(iou[3]![3]).toBe(0); // two identical points: 0 / eps, not NaN
    expect(iou[4]![0]).toBeCloseTo(16 / 100, 6);
    const giou = await pairwise(degenerateA, degenerateB, 'giou');
    expect(giou[0]![0]).toBeCloseTo(1, 6);
    // a[1] and b[2] touch: union 100 + 50 = 150 equals the enclosing [20, 20, 35, 30] area, so GIoU = 0.
    expect(giou[1]![2]).toBeCloseTo(0, 6);
    // a[1] vs b[1]: enclosing [20,20,50,60] = 1200, union 300 -> -900 / 1200.
    expect(giou[1]![1]).toBeCloseTo(-0.75, 6);
    const iof = await pairwise(degenerateA, degenerateB, 'iof');
    expect(iof[4]![0]).toBeCloseTo(1, 6); // a[4] lies inside b[0]
    for (const row of [...iou, ...giou, ...iof]) for (const v of row) expect(Number.isFinite(v)).toBe(true);
  });

  it('matches torchvision.ops.box_iou and generalized_box_iou', async () => {
    const iou = await pairwise(fx.a, fx.b, 'iou');
    const giou = await pairwise(fx.a, fx.b, 'giou');
    fx.iou.forEach((row, i) => row.forEach((v, j) => expect(iou[i]![j]).toBeCloseTo(v, 5)));
    fx.giou.forEach((row, i) => row.forEach((v, j) => expect(giou[i]![j]).toBeCloseTo(v, 5)));
  });

  it('handles empty inputs and rejects bad shapes', async () => {
    const r = boxIoU(tf.zeros([0, 4]) as tf.Tensor2D, tf.tensor2d([[0, 0, 1, 1]]));
    expect(r.shape).toEqual([0, 1]);
    r.dispose();
    expect(() => boxIoU(tf.zeros([3, 5]) as tf.Tensor2D, tf.zeros([2, 4]) as tf.Tensor2D)).toThrow(/a must have shape \[N, 4\], got \[3, 5\]/);
    expect(() => boxIoU(tf.zeros([3, 4]) as tf.Tensor2D, tf.zeros([2, 4]) as tf.Tensor2D, 'dice' as never)).toThrow(/mode/);
    expect(() => boxIoU(tf.zeros([3, 4]) as tf.Tensor2D, tf.zeros([2, 4]) as tf.Tensor2D, 'iou', 0)).toThrow(/eps must be a positive/);
  });

  it('does not leak tensors', () => {
    const a = tf.tensor2d([[0, 0, 2, 2]]);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) boxIoU(a, a, 'giou').dispose();
    expect(tf.memory().numTensors).toBe(before);
    a.dispose();
  });
});

describe('boxIoUArray', () => {
  it('equals boxIoU on the same boxes (all modes)', async () => {
    const rand = rng(11);
    const a = [...randomBoxes(rand, 12), ...degenerateA];
    const b = [...randomBoxes(rand, 9), ...degenerateB];
    for (const mode of ['iou', 'iof', 'giou'] as const) {
      const got = boxIoUArray(Float32Array.from(a.flat()), Float32Array.from(b.flat()), mode);
      const want = await pairwise(a, b, mode);
      expect(got).toHaveLength(a.length * b.length);
      want.forEach((row, i) => row.forEach((v, j) => expect(got[i * b.length + j]).toBeCloseTo(v, 5)));
    }
  });

  it('rejects arrays that are not N * 4 floats', () => {
    expect(() => boxIoUArray(new Float32Array(5), new Float32Array(4))).toThrow(/a must be a Float32Array of length N \* 4/);
  });
});

describe('alignedBoxIoU (re-exported from @hpf/loss)', () => {
  it('equals the diagonal of boxIoU, with degenerate pairs', async () => {
    const rand = rng(3);
    const a = [...randomBoxes(rand, 10), degenerateA[0]!, degenerateA[1]!, degenerateA[3]!];
    const b = [...randomBoxes(rand, 10), degenerateB[0]!, degenerateB[2]!, degenerateB[3]!];
    for (const mode of ['iou', 'giou'] as const) {
      const r = tf.tidy(() => alignedBoxIoU(tf.tensor2d(a), tf.tensor2d(b), mode));
      const got = await r.data();
      r.dispose();
      a.forEach((ba, i) => expect(got[i]).toBeCloseTo(iou64(ba, b[i]!, mode), 5));
    }
  });
});
