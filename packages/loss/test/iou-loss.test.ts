import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { giouLoss, iouLoss } from '../src/index.js';
import { expectAllFinite, expectClose } from './support/assert.js';
import { useCpuBackend } from './support/backend.js';
import { finiteDifferences, overlapRef, sum, type Box } from './support/reference.js';

beforeAll(useCpuBackend);

const pred: Box[] = [
  [0, 0, 10, 10],
  [12.5, 3.25, 40.75, 17.5],
  [0, 0, 10, 10],
  [5, 5, 5, 5],
  [1, 2, 30, 40],
];
const target: Box[] = [
  [5, 5, 15, 15],
  [10.1, 5.5, 38.2, 30.9],
  [20, 20, 30, 30],
  [5, 5, 5, 5],
  [1, 2, 30, 40],
];
const weights = [1, 0.5, 2, 1, 1];

const iouRef = (p: Box, q: Box, mode: 'log' | 'linear' | 'square', eps = 1e-6) => {
  const iou = Math.max(overlapRef(p, q, 'iou', eps), eps);
  return mode === 'log' ? -Math.log(iou) : mode === 'linear' ? 1 - iou : 1 - iou * iou;
};
const giouRef = (p: Box, q: Box, eps = 1e-7) => 1 - overlapRef(p, q, 'giou', eps);

describe('iouLoss and giouLoss', () => {
  it('match the float64 references, including disjoint, zero-area and identical boxes', () => {
    const p = tf.tensor2d(pred);
    const q = tf.tensor2d(target);
    const w = tf.tensor1d(weights);
    for (const mode of ['log', 'linear', 'square'] as const) {
      const ref = pred.map((b, i) => iouRef(b, target[i]!, mode));
      expectClose(iouLoss(p, q, { mode, reduction: 'none' }).dataSync(), ref);
      expectClose(iouLoss(p, q, { mode, weights: w, avgFactor: 3 }).dataSync(), sum(ref.map((v, i) => v * weights[i]!)) / 3);
    }
    const gref = pred.map((b, i) => giouRef(b, target[i]!));
    expectClose(giouLoss(p, q, { reduction: 'none' }).dataSync(), gref);
    expectClose(giouLoss(p, q, { weights: w, reduction: 'sum' }).dataSync(), sum(gref.map((v, i) => v * weights[i]!)));
    expectClose(giouLoss(p, q).dataSync(), sum(gref) / gref.length);
    // the disjoint pair: IoU floored at eps gives -log(1e-6); identical boxes give 0
    expectClose(iouLoss(p, q, { reduction: 'none' }).dataSync()[2]!, -Math.log(1e-6));
    expect(giouLoss(p, q, { reduction: 'none' }).dataSync()[4]).toBeCloseTo(0, 6);
    tf.dispose([p, q, w]);
  });

  it('have gradients equal to central finite differences of the references', () => {
    const rows = [0, 1]; // overlapping pairs, away from the clamps' kinks
    const x = rows.flatMap((i) => [...pred[i]!, ...target[i]!]);
    const split = (v: number[]) => rows.map((_, k) => [v.slice(8 * k, 8 * k + 4) as Box, v.slice(8 * k + 4, 8 * k + 8) as Box] as const);
    const p = tf.tensor2d(rows.map((i) => pred[i]!));
    const q = tf.tensor2d(rows.map((i) => target[i]!));
    for (const [name, f, ref] of [
      ['iou log', (a: tf.Tensor, b: tf.Tensor) => iouLoss(a as tf.Tensor2D, b as tf.Tensor2D, { reduction: 'sum' }), (v: number[]) => sum(split(v).map(([a, b]) => iouRef(a, b, 'log')))],
      ['iou linear', (a: tf.Tensor, b: tf.Tensor) => iouLoss(a as tf.Tensor2D, b as tf.Tensor2D, { mode: 'linear', reduction: 'sum' }), (v: number[]) => sum(split(v).map(([a, b]) => iouRef(a, b, 'linear')))],
      ['giou', (a: tf.Tensor, b: tf.Tensor) => giouLoss(a as tf.Tensor2D, b as tf.Tensor2D, { reduction: 'sum' }), (v: number[]) => sum(split(v).map(([a, b]) => giouRef(a, b)))],
    ] as const) {
      const [ga, gb] = tf.grads(f)([p, q]);
      const a = ga!.arraySync() as number[][];
      const b = gb!.arraySync() as number[][];
      const got = rows.flatMap((_, k) => [...a[k]!, ...b[k]!]);
      const fd = finiteDifferences(ref, x, 1e-4);
      try {
        expectClose(got, fd, 1e-3, 1e-6);
      } catch (e) {
        throw new Error(`${name}: ${(e as Error).message}`, { cause: e });
      }
    }
    tf.dispose([p, q]);
  });

  it('give finite gradients for degenerate boxes', () => {
    const p = tf.tensor2d([[5, 5, 5, 5], [0, 0, 1, 1]]);
    const q = tf.tensor2d([[5, 5, 5, 5], [50, 50, 60, 60]]);
    for (const f of [
      (a: tf.Tensor, b: tf.Tensor) => iouLoss(a as tf.Tensor2D, b as tf.Tensor2D),
      (a: tf.Tensor, b: tf.Tensor) => giouLoss(a as tf.Tensor2D, b as tf.Tensor2D),
    ]) {
      const [ga, gb] = tf.grads(f)([p, q]);
      expectAllFinite([...ga!.dataSync(), ...gb!.dataSync()], 'gradient');
    }
  });

  it('reject a bad mode, eps and weights shape', () => {
    const p = tf.tensor2d(pred);
    expect(() => iouLoss(p, p, { mode: 'cube' as 'log' })).toThrow(/mode must be 'log', 'linear' or 'square'/);
    expect(() => giouLoss(p, p, { eps: 0 })).toThrow(/eps must be a finite number > 0/);
    expect(() => giouLoss(p, p, { weights: tf.ones([2]) as tf.Tensor1D })).toThrow(/weights must have shape \[5\], got \[2\]/);
  });
});
