import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { boxArea, boxAreaArray, boxCenters, boxCentersArray, centerDistance, clipBoxes, scaleBoxes } from '../src/index.js';
import { randomBoxes, rng } from './fixtures/geometry/reference.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

async function read(t: tf.Tensor): Promise<number[]> {
  const v = Array.from(await t.data());
  t.dispose();
  return v;
}

const boxes = [
  [0, 0, 10, 20],
  [5, 5, 5, 9], // zero width
  [-4, 2, 6, 3.5],
];

describe('box helpers', () => {
  it('boxArea and boxCenters on [N, 4] and batched [B, N, 4]', async () => {
    const t = tf.tensor2d(boxes);
    expect(await read(boxArea(t))).toEqual([200, 0, 15]);
    expect(await read(boxCenters(t))).toEqual([5, 10, 5, 7, 1, 2.75]);
    const batched = tf.stack([t, t]);
    const area = boxArea(batched);
    expect(area.shape).toEqual([2, 3]);
    expect(await read(area)).toEqual([200, 0, 15, 200, 0, 15]);
    const centers = boxCenters(batched);
    expect(centers.shape).toEqual([2, 3, 2]);
    centers.dispose();
    tf.dispose([t, batched]);
    expect(Array.from(boxAreaArray(Float32Array.from(boxes.flat())))).toEqual([200, 0, 15]);
    expect(Array.from(boxCentersArray(Float32Array.from(boxes.flat())))).toEqual([5, 10, 5, 7, 1, 2.75]);
  });

  it('centerDistance is the float64 Euclidean distance', async () => {
    const rand = rng(5);
    const a = Array.from({ length: 6 }, () => [Math.fround(rand() * 50), Math.fround(rand() * 50)]);
    const b = Array.from({ length: 4 }, () => [Math.fround(rand() * 50), Math.fround(rand() * 50)]);
    const d = centerDistance(tf.tensor2d(a), tf.tensor2d(b));
    expect(d.shape).toEqual([6, 4]);
    const got = await read(d);
    a.forEach((p, i) => b.forEach((q, j) => expect(got[i * 4 + j]).toBeCloseTo(Math.hypot(p[0]! - q[0]!, p[1]! - q[1]!), 4)));
  });

  it('clipBoxes clamps x to [0, w] and y to [0, h]', async () => {
    const t = tf.tensor2d([
      [-5, -1, 30, 50],
      [3, 4, 5, 6],
    ]);
    expect(await read(clipBoxes(t, [40, 20]))).toEqual([0, 0, 20, 40, 3, 4, 5, 6]);
    t.dispose();
  });

  it('scaleBoxes inverts a letterbox resize (scale + offset) and can clip', async () => {
    const rand = rng(9);
    const orig = randomBoxes(rand, 8, 300, 100);
    const scale: [number, number] = [0.4, 0.5];
    const offset: [number, number] = [6, 10];
    const input = orig.map((b) => [b[0] * scale[0] + offset[0], b[1] * scale[1] + offset[1], b[2] * scale[0] + offset[0], b[3] * scale[1] + offset[1]]);
    const back = await read(scaleBoxes(tf.tensor2d(input), { scale, offset }));
    orig.flat().forEach((v, i) => expect(back[i]).toBeCloseTo(v, 3));
    const uniform = await read(scaleBoxes(tf.tensor2d([[10, 10, 50, 90]]), { scale: 0.5, clipTo: [150, 90] }));
    expect(uniform).toEqual([20, 20, 90, 150]);
    expect(() => scaleBoxes(tf.tensor2d([[0, 0, 1, 1]]), { scale: 0 })).toThrow(/scale\[0\]/);
    expect(() => scaleBoxes(tf.tensor2d([[0, 0, 1, 1]]), { scale: 1, pad: [1, 1] } as never)).toThrow(/unknown option 'pad'/);
  });

  it('rejects tensors whose last dimension is not 4', () => {
    expect(() => boxArea(tf.zeros([3, 3]))).toThrow(/boxes must have shape \[\.\.\., 4\], got \[3, 3\]/);
  });
});
