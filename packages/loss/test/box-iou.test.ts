import * as tf from '@tensorflow/tfjs-core';
import { useCpuBackend } from './support/backend.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { alignedBoxIoU } from '../src/index.js';

type Box = [number, number, number, number];

/** Float64 reference of mmdetection's aligned bbox_overlaps, written for this test only. */
function refOverlap(p: Box, q: Box, mode: 'iou' | 'giou', eps = 1e-6): number {
  const areaP = (p[2] - p[0]) * (p[3] - p[1]);
  const areaQ = (q[2] - q[0]) * (q[3] - q[1]);
  const iw = Math.max(Math.min(p[2], q[2]) - Math.max(p[0], q[0]), 0);
  const ih = Math.max(Math.min(p[3], q[3]) - Math.max(p[1], q[1]), 0);
  const inter = iw * ih;
  const union = Math.max(areaP + areaQ - inter, eps);
  const iou = inter / union;
  if (mode === 'iou') return iou;
  const ew = Math.max(Math.max(p[2], q[2]) - Math.min(p[0], q[0]), 0);
  const eh = Math.max(Math.max(p[3], q[3]) - Math.min(p[1], q[1]), 0);
  const enclose = Math.max(ew * eh, eps);
  return iou - (enclose - union) / enclose;
}

const pairs: Array<[Box, Box, string]> = [
  [[0, 0, 10, 10], [5, 5, 15, 15], 'partial overlap'],
  [[0, 0, 10, 10], [0, 0, 10, 10], 'identical'],
  [[0, 0, 10, 10], [20, 20, 30, 25], 'disjoint'],
  [[0, 0, 10, 10], [10, 0, 20, 10], 'touching edge'],
  [[3, 3, 3, 3], [3, 3, 3, 3], 'identical zero-area points'],
  [[2, 2, 2, 8], [0, 0, 5, 5], 'zero-width box'],
  [[1, 1, 9, 9], [0, 0, 10, 10], 'contained'],
  [[12.5, 3.25, 40.75, 17.5], [10.1, 5.5, 38.2, 30.9], 'fractional'],
  [[0, 0, 0, 0], [100, 100, 100, 100], 'disjoint points'],
];

function relClose(actual: number, expected: number, rtol = 1e-5, atol = 1e-6): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(atol + rtol * Math.abs(expected));
}

beforeAll(async () => {
  await useCpuBackend();
});

describe('alignedBoxIoU', () => {
  for (const mode of ['iou', 'giou'] as const) {
    it(`matches the float64 reference (${mode}) incl. degenerate boxes`, () => {
      const b1 = tf.tensor2d(pairs.map((p) => p[0]));
      const b2 = tf.tensor2d(pairs.map((p) => p[1]));
      const got = alignedBoxIoU(b1, b2, mode).arraySync();
      pairs.forEach(([p, q], i) => relClose(got[i]!, refOverlap(p, q, mode)));
      tf.dispose([b1, b2]);
    });
  }

  it('gives the known values of simple cases', () => {
    const b1 = tf.tensor2d([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10]]);
    const b2 = tf.tensor2d([[0, 0, 10, 10], [5, 0, 15, 10], [20, 0, 30, 10]]);
    const iou = alignedBoxIoU(b1, b2).arraySync();
    const giou = alignedBoxIoU(b1, b2, 'giou').arraySync();
    relClose(iou[0]!, 1);
    relClose(iou[1]!, 50 / 150);
    relClose(iou[2]!, 0);
    relClose(giou[0]!, 1);
    relClose(giou[1]!, 50 / 150);
    relClose(giou[2]!, -(300 - 200) / 300);
    tf.dispose([b1, b2]);
  });

  it('honours eps as the union floor', () => {
    const b = tf.tensor2d([[3, 3, 3, 3]]);
    // zero-area identical boxes: overlap 0 over union max(0, eps) = 0, giou = 0 - (eps - eps)/eps = 0
    expect(alignedBoxIoU(b, b, 'iou', 1e-3).dataSync()[0]).toBe(0);
    expect(alignedBoxIoU(b, b, 'giou', 1e-3).dataSync()[0]).toBe(0);
    b.dispose();
  });

  it('has gradients that match central finite differences of the float64 reference', () => {
    const p: Box = [12.5, 3.25, 40.75, 17.5];
    const q: Box = [10.1, 5.5, 38.2, 30.9];
    for (const mode of ['iou', 'giou'] as const) {
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(alignedBoxIoU(a as tf.Tensor2D, b as tf.Tensor2D, mode)),
      );
      const [ga, gb] = g([tf.tensor2d([p]), tf.tensor2d([q])]);
      const got = [...ga!.dataSync(), ...gb!.dataSync()];
      const h = 1e-4;
      for (let k = 0; k < 8; k++) {
        const plus = [...p, ...q];
        const minus = [...p, ...q];
        plus[k]! += h;
        minus[k]! -= h;
        const f = (v: number[]) => refOverlap(v.slice(0, 4) as Box, v.slice(4) as Box, mode);
        const fd = (f(plus) - f(minus)) / (2 * h);
        relClose(got[k]!, fd, 1e-3, 1e-6);
      }
      tf.dispose([ga!, gb!]);
    }
  });

  it('gives finite gradients for degenerate boxes', () => {
    const b1 = tf.tensor2d([[3, 3, 3, 3], [0, 0, 1, 1]]);
    const b2 = tf.tensor2d([[3, 3, 3, 3], [50, 50, 51, 51]]);
    const [ga, gb] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(alignedBoxIoU(a as tf.Tensor2D, b as tf.Tensor2D, 'giou')),
    )([b1, b2]);
    for (const v of [...ga!.dataSync(), ...gb!.dataSync()]) expect(Number.isFinite(v)).toBe(true);
    tf.dispose([b1, b2, ga!, gb!]);
  });

  it('handles zero boxes and rejects bad shapes', () => {
    const empty = tf.zeros([0, 4]) as tf.Tensor2D;
    expect(alignedBoxIoU(empty, empty).shape).toEqual([0]);
    const bad = tf.zeros([3, 5]) as tf.Tensor2D;
    const three = tf.zeros([3, 4]) as tf.Tensor2D;
    const two = tf.zeros([2, 4]) as tf.Tensor2D;
    expect(() => alignedBoxIoU(bad, three)).toThrow(/boxes1 must have shape \[N, 4\].*\[3, 5\]/);
    expect(() => alignedBoxIoU(three, two)).toThrow(/same number of boxes, got 3 and 2/);
    expect(() => alignedBoxIoU(three, three, 'diou' as 'iou')).toThrow(/mode/);
    tf.dispose([empty, bad, three, two]);
  });

  it('does not leak tensors', () => {
    const b1 = tf.tensor2d([[0, 0, 10, 10]]);
    const b2 = tf.tensor2d([[5, 5, 15, 15]]);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) alignedBoxIoU(b1, b2, 'giou').dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([b1, b2]);
  });
});
