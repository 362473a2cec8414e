import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  assertNoTensorLeak,
  clipByGlobalNorm,
  createLrSchedule,
  NonFiniteLossError,
  SgdMomentum,
  trainStep,
  warmupFactor,
} from '../src/index.js';
import { installTrainingKernels } from '../src/index.js';

// What the trainer does before training: tfjs-core's gradients and the wasm kernels.
installTrainingKernels();

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** PyTorch SGD in float64: g' = g + wd*w; v = m*v + g'; w -= lr*v. */
function referenceSgd(w0: number[], gradsOf: (w: number[], k: number) => number[], steps: number, lr: (k: number) => number, momentum: number, wd: number): number[][] {
  let w = [...w0];
  let v = w0.map(() => 0);
  const trajectory: number[][] = [];
  for (let k = 0; k < steps; k++) {
    const g = gradsOf(w, k).map((gi, i) => gi + wd * w[i]!);
    v = v.map((vi, i) => momentum * vi + g[i]!);
    w = w.map((wi, i) => wi - lr(k) * v[i]!);
    trajectory.push(w);
  }
  return trajectory;
}

const closeTo = (actual: ArrayLike<number>, expected: number[], tol: number): void => {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(Math.abs(actual[i]! - expected[i]!)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(expected[i]!)));
};

describe('SgdMomentum', () => {
  it('follows the float64 momentum + weight-decay sequence for given gradients', () => {
    const w0 = [0.5, -1.25, 2];
    const gradSeq = [
      [0.1, -0.2, 0.3],
      [-0.4, 0.5, 0.05],
      [0.2, 0.2, -0.6],
      [0.0, -0.1, 0.7],
      [1.5, 0.3, -0.2],
    ];
    const expected = referenceSgd(w0, (_, k) => gradSeq[k]!, 5, () => 0.1, 0.9, 1e-2);
    const w = tf.variable(tf.tensor1d(w0), true, 'w');
    const opt = new SgdMomentum([w], { momentum: 0.9, weightDecay: 1e-2 });
    gradSeq.forEach((g, k) => {
      const grad = tf.tensor1d(g);
      opt.step([grad], 0.1);
      grad.dispose();
      closeTo(w.dataSync(), expected[k]!, 1e-6);
    });
    opt.dispose();
    w.dispose();
  });

  it('skips weight decay where `decay` says so and validates its input', () => {
    const a = tf.variable(tf.tensor1d([1, 2]), true, 'conv/w');
    const b = tf.variable(tf.tensor1d([1, 2]), true, 'conv/b');
    const opt = new SgdMomentum([a, b], { weightDecay: 0.5, decay: (v) => !v.name.endsWith('/b') });
    const zero = tf.zeros([2]);
    opt.step([zero, zero], 0.1);
    closeTo(a.dataSync(), [1 - 0.1 * 0.5 * 1, 2 - 0.1 * 0.5 * 2], 1e-7);
    closeTo(b.dataSync(), [1, 2], 0);
    expect(() => opt.step([zero], 0.1)).toThrow(/got 1 gradients for 2 variables/);
    expect(() => opt.step([zero, tf.zeros([3])], 0.1)).toThrow(/does not match variable 'conv\/b'/);
    expect(() => new SgdMomentum([a], { momentun: 0.9 } as never)).toThrow("SgdMomentum: unknown option 'momentun'");
    expect(() => new SgdMomentum([a], { momentum: -1 })).toThrow(/'momentum' must be/);
    tf.dispose([a, b, zero]);
    opt.dispose();
  });
});

describe('createLrSchedule', () => {
  it('warms up linearly from warmupRatio and decays by gamma at each step', () => {
    const lr = createLrSchedule({ baseLr: 0.01, warmupIters: 500, warmupRatio: 0.001, steps: [8000, 11000], gamma: 0.1 });
    expect(lr(0)).toBeCloseTo(0.01 * 0.001, 15);
    expect(lr(250)).toBeCloseTo(0.01 * (1 - 0.5 * 0.999), 15);
    expect(lr(499)).toBeCloseTo(0.01 * (1 - (1 / 500) * 0.999), 15);
    expect(lr(500)).toBe(0.01);
    expect(lr(7999)).toBe(0.01);
    expect(lr(8000)).toBeCloseTo(0.001, 15);
    expect(lr(11000)).toBeCloseTo(0.0001, 15);
    expect(warmupFactor(100, 400, 0.25)).toBeCloseTo(1 - 0.75 * 0.75, 15);
  });

  it('rejects bad options and iterations', () => {
    expect(() => createLrSchedule({ baseLr: 0 })).toThrow(/'baseLr' must be a finite number > 0/);
    expect(() => createLrSchedule({ baseLr: 0.1, steps: [10, 5] })).toThrow(/'steps' must be ascending/);
    expect(() => createLrSchedule({ baseLr: 0.1, warmup: 5 } as never)).toThrow("createLrSchedule: unknown option 'warmup'");
    expect(() => createLrSchedule({ baseLr: 0.1 })(-1)).toThrow(/iteration must be a non-negative integer/);
  });
});

describe('clipByGlobalNorm', () => {
  it('scales all gradients by maxNorm / (norm + 1e-6) when the global norm exceeds it', () => {
    const grads = [tf.tensor1d([3, 4]), tf.tensor1d([12])]; // global norm 13
    const { grads: clipped, norm } = clipByGlobalNorm(grads, 6.5);
    expect(norm).toBeCloseTo(13, 5);
    const scale = 6.5 / (13 + 1e-6);
    closeTo(clipped[0]!.dataSync(), [3 * scale, 4 * scale], 1e-6);
    closeTo(clipped[1]!.dataSync(), [12 * scale], 1e-6);
    const untouched = clipByGlobalNorm(grads, 20);
    closeTo(untouched.grads[0]!.dataSync(), [3, 4], 0);
    tf.dispose([...grads, ...clipped, ...untouched.grads]);
    expect(() => clipByGlobalNorm([], 0)).toThrow(/maxNorm must be/);
  });
});

describe('trainStep', () => {
  const target = [1, -2, 0.5];
  const makeLoss = (w: tf.Variable, poison?: { term: string; value: number }) => () => {
    const fit = tf.sum(tf.square(tf.sub(w, tf.tensor1d(target)))) as tf.Scalar;
    const reg = tf.mul(tf.sum(w), 0.1) as tf.Scalar;
    if (poison?.term === 'fit') return { fit: tf.add(fit, poison.value) as tf.Scalar, reg };
    return { fit, reg };
  };

  it('returns the loss terms as numbers and matches the float64 trajectory with warm-up and momentum', () => {
    const w0 = [0, 0, 0];
    const schedule = createLrSchedule({ baseLr: 0.05, warmupIters: 3, warmupRatio: 0.1 });
    // d/dw [sum (w - t)^2 + 0.1 sum w] = 2 (w - t) + 0.1
    const expected = referenceSgd(w0, (w) => w.map((wi, i) => 2 * (wi - target[i]!) + 0.1), 6, schedule, 0.9, 1e-3);
    const w = tf.variable(tf.tensor1d(w0), true, 'tw');
    const optimizer = new SgdMomentum([w], { momentum: 0.9, weightDecay: 1e-3 });
    for (let k = 0; k < 6; k++) {
      const before = Array.from(w.dataSync());
      const { losses } = trainStep({ lossFn: makeLoss(w), variables: [w], optimizer, lr: schedule(k), iteration: k });
      const fit = before.reduce((s, wi, i) => s + (wi - target[i]!) ** 2, 0);
      const reg = 0.1 * before.reduce((s, wi) => s + wi, 0);
      expect(losses.fit).toBeCloseTo(fit, 5);
      expect(losses.reg).toBeCloseTo(reg, 5);
      expect(losses.total).toBeCloseTo(fit + reg, 5);
      closeTo(w.dataSync(), expected[k]!, 1e-5);
    }
    optimizer.dispose();
    w.dispose();
  });

  it('clips the gradient when asked and reports the pre-clip norm', () => {
    const w = tf.variable(tf.tensor1d([0, 0, 0]), true, 'cw');
    const optimizer = new SgdMomentum([w]);
    const { gradNorm } = trainStep({ lossFn: makeLoss(w), variables: [w], optimizer, lr: 1, clipGradNorm: 1 });
    const g = target.map((t) => -2 * t + 0.1);
    const norm = Math.hypot(...g);
    expect(gradNorm).toBeCloseTo(norm, 5);
    closeTo(w.dataSync(), g.map((gi) => (-gi * 1) / (norm + 1e-6)), 1e-6);
    optimizer.dispose();
    w.dispose();
  });

  it('throws NonFiniteLossError naming the iteration and term before touching the weights', () => {
    const w = tf.variable(tf.tensor1d([0.25, 0.5, 0.75]), true, 'nw');
    const optimizer = new SgdMomentum([w], { momentum: 0.9 });
    const start = tf.memory().numTensors;
    let error: unknown;
    try {
      trainStep({ lossFn: makeLoss(w, { term: 'fit', value: NaN }), variables: [w], optimizer, lr: 0.1, iteration: 41 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(NonFiniteLossError);
    expect((error as Error).message).toBe("iteration 41: loss term 'fit' is NaN; weights were not updated");
    expect((error as NonFiniteLossError).term).toBe('fit');
    expect(Array.from(w.dataSync())).toEqual([0.25, 0.5, 0.75]);
    expect(tf.memory().numTensors).toBe(start);
    expect(() => trainStep({ lossFn: makeLoss(w, { term: 'fit', value: Infinity }), variables: [w], optimizer, lr: 0.1, iteration: 2 })).toThrow(
      "iteration 2: loss term 'fit' is Infinity",
    );
    optimizer.dispose();
    w.dispose();
  });

  it('does not leak tensors across iterations', async () => {
    const w = tf.variable(tf.tensor1d([0, 0, 0]), true, 'lw');
    const optimizer = new SgdMomentum([w], { momentum: 0.9, weightDecay: 1e-4 });
    await assertNoTensorLeak(
      (k) => void trainStep({ lossFn: makeLoss(w), variables: [w], optimizer, lr: 0.01, iteration: k, clipGradNorm: 5 }),
      { iterations: 5, label: 'trainStep' },
    );
    optimizer.dispose();
    w.dispose();
  });
});
