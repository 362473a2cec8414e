import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { distributionFocalLoss, qualityFocalLoss, sigmoidFocalLoss, varifocalLoss } from '../src/index.js';
import { expectAllFinite, expectClose } from './support/assert.js';
import { useCpuBackend } from './support/backend.js';
import {
  dflRef,
  finiteDifferences,
  focalRef,
  qflRef,
  random,
  reshape,
  sum,
  sumMatrix,
  vflRef,
  type Matrix,
} from './support/reference.js';

beforeAll(useCpuBackend);

const N = 7;
const C = 4;

/** A small batch: logits in [-6, 6], every label kind (foreground, background C, ignore -1), mixed weights. */
function batch(seed: number) {
  const rand = random(seed);
  const logits = Array.from({ length: N * C }, () => 12 * rand() - 6);
  const labels = [0, 3, C, -1, 2, C, 1];
  const weights = [1, 0.5, 1, 1, 0, 2, 1];
  const scores = Array.from({ length: N }, () => 0.1 + 0.8 * rand());
  return { logits, labels, weights, scores };
}

const flat = (m: Matrix) => m.flat();

describe('sigmoidFocalLoss', () => {
  const { logits, labels, weights } = batch(1);
  const input = () => ({
    logits: tf.tensor2d(logits, [N, C]),
    labels: tf.tensor1d(labels, 'int32'),
    labelWeights: tf.tensor1d(weights),
  });

  it('matches the float64 reference for every reduction', () => {
    for (const [gamma, alpha] of [[2, 0.25], [1.5, 0.4], [0, 0.5], [2.7, 0.1]] as const) {
      const ref = focalRef(reshape(logits, N, C), labels, weights, gamma, alpha);
      const inp = input();
      expectClose(sigmoidFocalLoss(inp, { gamma, alpha, reduction: 'none' }).dataSync(), flat(ref));
      expectClose(sigmoidFocalLoss(inp, { gamma, alpha, reduction: 'sum' }).dataSync(), sumMatrix(ref));
      expectClose(sigmoidFocalLoss(inp, { gamma, alpha }).dataSync(), sumMatrix(ref) / (N * C));
      expectClose(sigmoidFocalLoss(inp, { gamma, alpha, avgFactor: 3.5 }).dataSync(), sumMatrix(ref) / 3.5);
      tf.dispose(Object.values(inp));
    }
  });

  it('treats label -1 and weight 0 as ignored, and defaults weights to 1', () => {
    const inp = input();
    const noWeights = sigmoidFocalLoss({ logits: inp.logits, labels: inp.labels }, { reduction: 'none' }).arraySync() as number[][];
    const ref = focalRef(reshape(logits, N, C), labels, undefined, 2, 0.25);
    expectClose(noWeights.flat(), flat(ref));
    expect(noWeights[3]).toEqual([0, 0, 0, 0]);
    tf.dispose(Object.values(inp));
  });

  it('has gradients equal to central finite differences of the reference', () => {
    const inp = input();
    const g = tf.grad((z: tf.Tensor) => sigmoidFocalLoss({ ...inp, logits: z as tf.Tensor2D }, { gamma: 1.7, alpha: 0.3, avgFactor: 2 }));
    const fd = finiteDifferences((x) => sumMatrix(focalRef(reshape(x, N, C), labels, weights, 1.7, 0.3)) / 2, logits);
    expectClose(g(inp.logits).dataSync(), fd, 1e-4, 1e-7);
    tf.dispose(Object.values(inp));
  });

  it('is finite in value and gradient for logits of +-100', () => {
    const z = [100, -100, 100, -100, -100, 100, 100, -100];
    const inp = { logits: tf.tensor2d(z, [2, 4]), labels: tf.tensor1d([1, 0], 'int32') };
    const { value, grads } = tf.valueAndGrads((x: tf.Tensor) => sigmoidFocalLoss({ ...inp, logits: x as tf.Tensor2D }, { reduction: 'sum' }))([inp.logits]);
    expectAllFinite(value.dataSync(), 'loss');
    expectAllFinite(grads[0]!.dataSync(), 'gradient');
    expectClose(value.dataSync(), sumMatrix(focalRef(reshape(z, 2, 4), [1, 0], undefined, 2, 0.25)));
    // each positive at z = -100 costs alpha * 1^2 * 100, each negative at z = +100 (1 - alpha) * 1^2 * 100
    expectClose(value.dataSync(), 2 * 0.25 * 100 + 4 * 0.75 * 100, 1e-6);
  });

  it('rejects bad shapes, dtypes and options with the name of the culprit', () => {
    const inp = input();
    expect(() => sigmoidFocalLoss({ ...inp, labels: tf.tensor1d([0, 1], 'int32') })).toThrow(/labels must have shape \[7\], got \[2\]/);
    expect(() => sigmoidFocalLoss({ ...inp, labels: tf.tensor1d(labels, 'float32') })).toThrow(/labels must be int32/);
    expect(() => sigmoidFocalLoss({ ...inp, logits: tf.zeros([7]) as unknown as tf.Tensor2D })).toThrow(/logits must have shape \[N, C\]/);
    expect(() => sigmoidFocalLoss(inp, { gamma: -1 })).toThrow(/gamma must be a finite number >= 0/);
    expect(() => sigmoidFocalLoss(inp, { reduction: 'max' as 'sum' })).toThrow(/reduction must be one of/);
    expect(() => sigmoidFocalLoss(inp, { reduction: 'sum', avgFactor: 2 })).toThrow(/avgFactor cannot be used with reduction 'sum'/);
    expect(() => sigmoidFocalLoss(inp, { avgFactor: 0 })).toThrow(/avgFactor must be a positive finite number/);
    expect(() => sigmoidFocalLoss(inp, { gama: 2 } as never)).toThrow(/sigmoidFocalLoss: unknown option 'gama'/);
    expect(() => varifocalLoss({ logits: inp.logits, targets: tf.zerosLike(inp.logits) }, { beta: 2 } as never)).toThrow(/unknown option 'beta'/);
  });
});

describe('qualityFocalLoss', () => {
  const { logits, labels, weights, scores } = batch(2);
  const input = () => ({
    logits: tf.tensor2d(logits, [N, C]),
    labels: tf.tensor1d(labels, 'int32'),
    labelWeights: tf.tensor1d(weights),
    scores: tf.tensor1d(scores),
  });

  it('matches the float64 reference', () => {
    for (const beta of [2, 1.5, 2.5]) {
      const ref = qflRef(reshape(logits, N, C), labels, scores, weights, beta);
      const inp = input();
      expectClose(qualityFocalLoss(inp, { beta, reduction: 'none' }).dataSync(), ref);
      expectClose(qualityFocalLoss(inp, { beta, avgFactor: 4 }).dataSync(), sum(ref) / 4);
      expectClose(qualityFocalLoss(inp, { beta }).dataSync(), sum(ref) / N);
      tf.dispose(Object.values(inp));
    }
  });

  it('has gradients equal to central finite differences of the reference', () => {
    const inp = input();
    const g = tf.grad((z: tf.Tensor) => qualityFocalLoss({ ...inp, logits: z as tf.Tensor2D }, { reduction: 'sum', beta: 2 }));
    const fd = finiteDifferences((x) => sum(qflRef(reshape(x, N, C), labels, scores, weights, 2)), logits);
    expectClose(g(inp.logits).dataSync(), fd, 1e-4, 1e-7);
    tf.dispose(Object.values(inp));
  });

  it('is finite in value and gradient for logits of +-100', () => {
    const z = [100, -100, 100, -100, -100, 100, 100, -100];
    const inp = { logits: tf.tensor2d(z, [2, 4]), labels: tf.tensor1d([0, 4], 'int32'), scores: tf.tensor1d([0.6, 0]) };
    const { value, grads } = tf.valueAndGrads((x: tf.Tensor) => qualityFocalLoss({ ...inp, logits: x as tf.Tensor2D }, { reduction: 'sum', beta: 1.5 }))([inp.logits]);
    expectAllFinite(value.dataSync(), 'loss');
    expectAllFinite(grads[0]!.dataSync(), 'gradient');
    expectClose(value.dataSync(), sum(qflRef(reshape(z, 2, 4), [0, 4], [0.6, 0], undefined, 1.5)));
  });
});

describe('varifocalLoss', () => {
  const { logits, weights } = batch(3);
  const rand = random(33);
  // IoU targets at one class of some priors, 0 elsewhere
  const targets = reshape(Array.from({ length: N * C }, (_, k) => (k % 5 === 0 ? 0.05 + 0.9 * rand() : 0)), N, C);
  const input = () => ({ logits: tf.tensor2d(logits, [N, C]), targets: tf.tensor2d(targets), weights: tf.tensor1d(weights) });

  it('matches the float64 reference (iou-weighted or not)', () => {
    for (const [gamma, alpha, iouWeighted] of [[2, 0.75, true], [1.5, 0.6, true], [2, 0.75, false]] as const) {
      const ref = vflRef(reshape(logits, N, C), targets, weights, gamma, alpha, iouWeighted);
      const inp = input();
      expectClose(varifocalLoss(inp, { gamma, alpha, iouWeighted, reduction: 'none' }).dataSync(), flat(ref));
      expectClose(varifocalLoss(inp, { gamma, alpha, iouWeighted, avgFactor: 3 }).dataSync(), sumMatrix(ref) / 3);
      tf.dispose(Object.values(inp));
    }
  });

  it('has gradients equal to central finite differences of the reference', () => {
    const inp = input();
    const g = tf.grad((z: tf.Tensor) => varifocalLoss({ ...inp, logits: z as tf.Tensor2D }, { reduction: 'sum' }));
    const fd = finiteDifferences((x) => sumMatrix(vflRef(reshape(x, N, C), targets, weights, 2, 0.75)), logits);
    expectClose(g(inp.logits).dataSync(), fd, 1e-4, 1e-7);
    tf.dispose(Object.values(inp));
  });

  it('is finite in value and gradient for logits of +-100', () => {
    const z = [100, -100, 100, -100, -100, 100, 100, -100];
    const q = [[0.7, 0, 0, 0], [0, 0, 0, 0.9]];
    const inp = { logits: tf.tensor2d(z, [2, 4]), targets: tf.tensor2d(q) };
    const { value, grads } = tf.valueAndGrads((x: tf.Tensor) => varifocalLoss({ ...inp, logits: x as tf.Tensor2D }, { reduction: 'sum' }))([inp.logits]);
    expectAllFinite(value.dataSync(), 'loss');
    expectAllFinite(grads[0]!.dataSync(), 'gradient');
    expectClose(value.dataSync(), sumMatrix(vflRef(reshape(z, 2, 4), q, undefined, 2, 0.75)));
  });
});

describe('distributionFocalLoss', () => {
  const bins = 5;
  const rand = random(4);
  const logits = Array.from({ length: N * bins }, () => 8 * rand() - 4);
  // includes an integer target, the top bin edge (4) and 0
  const targets = [0, 0.25, 1.5, 2, 3.99, 4, 2.7];
  const weights = [1, 1, 0.5, 1, 2, 1, 0];

  it('matches the float64 reference with and without weights', () => {
    const ref = dflRef(reshape(logits, N, bins), targets);
    const z = tf.tensor2d(logits, [N, bins]);
    const y = tf.tensor1d(targets);
    expectClose(distributionFocalLoss(z, y, { reduction: 'none' }).dataSync(), ref);
    expectClose(distributionFocalLoss(z, y, { weights: tf.tensor1d(weights), avgFactor: 4 }).dataSync(), sum(ref.map((v, i) => v * weights[i]!)) / 4);
    tf.dispose([z, y]);
  });

  it('has gradients equal to central finite differences and stays finite at +-100', () => {
    const y = tf.tensor1d(targets);
    const g = tf.grad((z: tf.Tensor) => distributionFocalLoss(z as tf.Tensor2D, y, { reduction: 'sum' }));
    const fd = finiteDifferences((x) => sum(dflRef(reshape(x, N, bins), targets)), logits);
    expectClose(g(tf.tensor2d(logits, [N, bins])).dataSync(), fd, 1e-4, 1e-7);
    const extreme = tf.tensor2d(Array.from({ length: N * bins }, (_, k) => (k % 2 ? 100 : -100)), [N, bins]);
    expectAllFinite(g(extreme).dataSync(), 'gradient');
    expectAllFinite(distributionFocalLoss(extreme, y, { reduction: 'none' }).dataSync(), 'loss');
  });
});

describe('tensor ownership', () => {
  it('every functional loss returns one new tensor and frees its temporaries, with or without a tape', () => {
    const { logits, labels, weights, scores } = batch(5);
    const z = tf.tensor2d(logits, [N, C]);
    const input = { logits: z, labels: tf.tensor1d(labels, 'int32'), labelWeights: tf.tensor1d(weights), scores: tf.tensor1d(scores) };
    const targets = tf.tensor2d(reshape(logits.map((v) => (v > 3 ? 0.5 : 0)), N, C));
    const distances = tf.tensor1d([0.5, 1, 1.5, 2, 2.5, 2.9, 0]);
    const calls: Array<(x: tf.Tensor2D) => tf.Tensor> = [
      (x) => sigmoidFocalLoss({ ...input, logits: x }),
      (x) => qualityFocalLoss({ ...input, logits: x }),
      (x) => varifocalLoss({ logits: x, targets }),
      (x) => distributionFocalLoss(x, distances),
    ];
    const before = tf.memory().numTensors;
    for (const call of calls) {
      call(z).dispose();
      const { value, grads } = tf.valueAndGrads((x: tf.Tensor) => call(x as tf.Tensor2D))([z]);
      tf.dispose([value, ...grads]);
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('single-class detection (numClasses 1)', () => {
  it('sigmoid focal loss over one class matches the float64 formula', () => {
    // logits 2 (class 0: positive), -1 (label 1 = background: negative), 0.5 (label -1: ignored).
    // FL = alpha_t (1 - p_t)^2 (-log p_t), alpha 0.25: 0.25 (1 - s(2))^2 (-log s(2)) + 0.75 s(-1)^2 (-log(1 - s(-1))).
    const loss = tf.tidy(() => sigmoidFocalLoss({ logits: tf.tensor2d([2, -1, 0.5], [3, 1]), labels: tf.tensor1d([0, 1, -1], 'int32') }, { reduction: 'sum' }));
    expect(loss.dataSync()[0]).toBeCloseTo(0.01744443384016059, 6);
    loss.dispose();
  });
  it('quality focal loss over one class matches the float64 formula', () => {
    // QFL = BCE(s(z), y) |y - s(z)|^2: positive z = 2 with IoU 0.8, negative z = -1 (y = 0).
    const loss = tf.tidy(() => qualityFocalLoss({ logits: tf.tensor2d([2, -1], [2, 1]), labels: tf.tensor1d([0, 1], 'int32'), scores: tf.tensor1d([0.8, 0]) }, { reduction: 'sum' }));
    expect(loss.dataSync()[0]).toBeCloseTo(0.02609793198822102, 6);
    loss.dispose();
  });
});
