import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { binaryCrossEntropyWithLogits } from '../src/index.js';
import { expectAllFinite, expectClose } from './support/assert.js';
import { useCpuBackend } from './support/backend.js';
import { bceWithLogits, finiteDifferences, sum } from './support/reference.js';

beforeAll(useCpuBackend);

// Soft targets as the centerness and IoU-prediction losses see them, and logits up to +-60 where a
// naive log(sigmoid) overflows.
const logits = [-3.2, -0.5, 0, 0.75, 2.5, 60, -60];
const targets = [0, 0.25, 0.5, 1, 0.6, 1, 0];

describe('binaryCrossEntropyWithLogits', () => {
  it('matches the float64 reference per element and reduced', () => {
    const z = tf.tensor1d(logits);
    const t = tf.tensor1d(targets);
    const ref = logits.map((v, i) => bceWithLogits(v, targets[i]!));
    const none = binaryCrossEntropyWithLogits(z, t, { reduction: 'none' }).dataSync();
    expectAllFinite(none, 'bce');
    expectClose(none, ref);
    expectClose(binaryCrossEntropyWithLogits(z, t, { reduction: 'sum' }).dataSync(), sum(ref));
    expectClose(binaryCrossEntropyWithLogits(z, t).dataSync(), sum(ref) / ref.length);
    expectClose(binaryCrossEntropyWithLogits(z, t, { avgFactor: 4 }).dataSync(), sum(ref) / 4);
  });

  it('has the gradient sigmoid(z) - t, as finite differences of the reference', () => {
    const z = tf.tensor1d(logits.slice(0, 5));
    const t = tf.tensor1d(targets.slice(0, 5));
    const grad = tf.grad((x) => binaryCrossEntropyWithLogits(x as tf.Tensor1D, t, { reduction: 'sum' }))(z);
    const fd = finiteDifferences((x) => sum(x.map((v, i) => bceWithLogits(v, targets[i]!))), logits.slice(0, 5));
    expectClose(grad.dataSync(), fd, 1e-4, 1e-6);
  });

  it('rejects mismatched shapes, unknown options and avgFactor with sum, naming them', () => {
    const z = tf.tensor1d([0, 1]);
    expect(() => binaryCrossEntropyWithLogits(z, tf.tensor1d([0, 1, 0]))).toThrow(/targets must have shape \[2\]/);
    expect(() => binaryCrossEntropyWithLogits(tf.tensor2d([[0]]) as unknown as tf.Tensor1D, tf.tensor1d([0]))).toThrow(/logits must be a vector/);
    expect(() => binaryCrossEntropyWithLogits(z, z, { weights: z } as never)).toThrow(/weights/);
    expect(() => binaryCrossEntropyWithLogits(z, z, { reduction: 'sum', avgFactor: 2 })).toThrow(/avgFactor cannot be used/);
  });

  it('leaves no tensor behind', () => {
    const z = tf.tensor1d(logits);
    const t = tf.tensor1d(targets);
    const before = tf.memory().numTensors;
    binaryCrossEntropyWithLogits(z, t, { reduction: 'sum' }).dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
