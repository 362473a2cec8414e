import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { batchedNms, batchedNmsArray, batchedNmsSync } from '../src/index.js';
import { bruteForceNms, loadFixture, randomBoxes, rng, type Box64 } from './fixtures/geometry/reference.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

async function runNms(boxes: Box64[], scores: number[], labels: number[], thr: number, max?: number): Promise<number[]> {
  const b = tf.tensor2d(boxes, [boxes.length, 4]);
  const s = tf.tensor1d(scores);
  const l = tf.tensor1d(labels, 'int32');
  const keep = await batchedNms(b, s, l, thr, max);
  const out = Array.from(await keep.data());
  tf.dispose([b, s, l, keep]);
  return out;
}

const arrayNms = (boxes: Box64[], scores: number[], labels: number[], thr: number, max?: number) =>
  batchedNmsArray(Float32Array.from(boxes.flat()), Float32Array.from(scores), Int32Array.from(labels), thr, max);

describe('batchedNms / batchedNmsArray', () => {
  it('equals a float64 brute-force class-aware NMS on random boxes', async () => {
    const rand = rng(99);
    for (const [n, classes, thr] of [
      [120, 3, 0.5],
      [200, 1, 0.3],
      [80, 5, 0.7],
    ] as const) {
      const boxes = randomBoxes(rand, n, 60, 40);
      const scores = boxes.map(() => Math.fround(rand()));
      const labels = boxes.map(() => Math.floor(rand() * classes));
      const want = bruteForceNms(boxes, scores, labels, thr);
      expect(want.length).toBeLessThan(n); // the case really suppresses something
      expect(await runNms(boxes, scores, labels, thr)).toEqual(want);
      expect(await runNms(boxes, scores, labels, thr, 10)).toEqual(want.slice(0, 10));
      expect(Array.from(arrayNms(boxes, scores, labels, thr))).toEqual(want);
      expect(Array.from(arrayNms(boxes, scores, labels, thr, 10))).toEqual(want.slice(0, 10));
    }
  });

  it('matches torchvision.ops.batched_nms', async () => {
    const cases = loadFixture<{ batched_nms: { boxes: Box64[]; scores: number[]; labels: number[]; iou_threshold: number; keep: number[] }[] }>('geometry.json').batched_nms;
    for (const c of cases) {
      expect(await runNms(c.boxes, c.scores, c.labels, c.iou_threshold)).toEqual(c.keep);
      expect(Array.from(arrayNms(c.boxes, c.scores, c.labels, c.iou_threshold))).toEqual(c.keep);
    }
  });

  it('never suppresses across classes, also with negative coordinates', async () => {
    const box: Box64 = [-50, -40, -10, -5];
    const keep = await runNms([box, box, box, [-49, -40, -10, -5]], [0.9, 0.8, 0.7, 0.6], [0, 1, 2, 0], 0.5);
    expect(keep).toEqual([0, 1, 2]);
    expect(Array.from(arrayNms([box, box, box, [-49, -40, -10, -5]], [0.9, 0.8, 0.7, 0.6], [0, 1, 2, 0], 0.5))).toEqual([0, 1, 2]);
  });

  it('keeps the lower index first on equal scores, and suppresses at IoU == threshold', async () => {
    // IoU of [0,0,10,10] and [0,0,10,5] is exactly 0.5.
    expect(await runNms([[0, 0, 10, 5], [0, 0, 10, 10]], [0.5, 0.5], [0, 0], 0.5)).toEqual([0]);
    expect(await runNms([[0, 0, 10, 5], [0, 0, 10, 10]], [0.5, 0.5], [0, 0], 0.51)).toEqual([0, 1]);
    expect(Array.from(arrayNms([[0, 0, 10, 5], [0, 0, 10, 10]], [0.5, 0.5], [0, 0], 0.5))).toEqual([0]);
    expect(Array.from(arrayNms([[0, 0, 10, 10], [0, 0, 10, 5]], [0.5, 0.5], [0, 0], 0.51))).toEqual([0, 1]);
    expect(() => arrayNms([[0, 0, 1, 1]], [0.5, 0.4], [0, 0], 0.5)).toThrow(/boxes has length 4, expected 4 \* 2/);
  });

  it('has a sync twin with the same result, handles empty input, and rejects bad shapes', async () => {
    const rand = rng(5);
    const boxes = randomBoxes(rand, 50, 40, 30);
    const scores = boxes.map(() => rand());
    const labels = boxes.map(() => Math.floor(rand() * 2));
    const b = tf.tensor2d(boxes);
    const s = tf.tensor1d(scores);
    const l = tf.tensor1d(labels, 'int32');
    const before = tf.memory().numTensors;
    const keep = batchedNmsSync(b, s, l, 0.4);
    expect(Array.from(keep.dataSync())).toEqual(bruteForceNms(boxes, scores, labels, 0.4));
    keep.dispose();
    expect(tf.memory().numTensors).toBe(before);
    const empty = await batchedNms(tf.zeros([0, 4]) as tf.Tensor2D, tf.zeros([0]) as tf.Tensor1D, tf.zeros([0], 'int32') as tf.Tensor1D, 0.5);
    expect(empty.shape).toEqual([0]);
    expect(empty.dtype).toBe('int32');
    empty.dispose();
    await expect(batchedNms(b, tf.zeros([3]) as tf.Tensor1D, l, 0.5)).rejects.toThrow(/scores must have shape \[50\], got \[3\]/);
    await expect(batchedNms(b, s, l, 1.5)).rejects.toThrow(/iouThreshold/);
    tf.dispose([b, s, l]);
  });
});
