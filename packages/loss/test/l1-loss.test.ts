import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { l1BoxLoss } from '../src/index.js';
import { useCpuBackend } from './support/backend.js';

beforeAll(useCpuBackend);

describe('l1BoxLoss', () => {
  it('matches float64 L1 and smooth L1 sums divided by avgFactor', () => {
    const p = [0.1, -0.3, 2, 0.05, 1, 1, 1, 1];
    const t = [0, 0, 0.5, 0.06, 1.2, 0.9, -1, 1];
    const pred = tf.tensor2d(p, [2, 4]);
    const target = tf.tensor2d(t, [2, 4]);
    const l1 = p.reduce((s, v, i) => s + Math.abs(v - t[i]!), 0) / 3;
    const beta = 0.11;
    const smooth = p.reduce((s, v, i) => {
      const d = Math.abs(v - t[i]!);
      return s + (d < beta ? (0.5 * d * d) / beta : d - 0.5 * beta);
    }, 0) / 3;
    expect(l1BoxLoss(pred, target, 3).dataSync()[0]).toBeCloseTo(l1, 6);
    expect(l1BoxLoss(pred, target, 3, beta).dataSync()[0]).toBeCloseTo(smooth, 6);
    expect(() => l1BoxLoss(pred, tf.zeros([2, 3]) as tf.Tensor2D, 1)).toThrow(/\[M, 4\]/);
    tf.dispose([pred, target]);
  });

  it('has a smooth-L1 gradient (beta > 0) matching central differences of the float64 formula', () => {
    // Differences on both sides of beta, away from the kink at d = beta.
    const p = [0.02, -0.05, 0.3, -0.4, 0.08, 0.5, -0.01, 0.2];
    const t = new Array(8).fill(0);
    const beta = 0.11;
    const ref = (v: number[]) =>
      v.reduce((s, x, i) => {
        const d = Math.abs(x - t[i]);
        return s + (d < beta ? (0.5 * d * d) / beta : d - 0.5 * beta);
      }, 0) / 2;
    const pred = tf.tensor2d(p, [2, 4]);
    const target = tf.tensor2d(t, [2, 4]);
    const grad = tf.grad((x: tf.Tensor) => l1BoxLoss(x as tf.Tensor2D, target, 2, beta))(pred).dataSync();
    const h = 1e-6;
    p.forEach((_, i) => {
      const up = [...p];
      const down = [...p];
      up[i]! += h;
      down[i]! -= h;
      expect(grad[i]).toBeCloseTo((ref(up) - ref(down)) / (2 * h), 4);
    });
    tf.dispose([pred, target]);
  });
});
