// GroupNorm's hand-written gradient (src/nn/group-norm.ts) against tfjs autodiff of the composed
// forward it replaced, on the cpu backend; forward values must be identical.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { GroupNorm } from '../src/index.js';
import { groupNorm } from '../src/layers/group-norm.js';
import { arr4, toTensor } from './nn-reference.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** The composed GroupNorm (tf.moments + broadcasting), differentiated by tfjs autodiff. */
function composed(x: tf.Tensor4D, groups: number, eps: number, weight: tf.Tensor1D | null, bias: tf.Tensor1D | null): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const grouped = tf.reshape(x, [n, h, w, groups, c / groups]);
  const { mean, variance } = tf.moments(grouped, [1, 2, 4], true);
  const normed = tf.reshape(tf.mul(tf.sub(grouped, mean), tf.rsqrt(tf.add(variance, eps))), x.shape) as tf.Tensor4D;
  return weight === null || bias === null ? normed : (tf.add(tf.mul(normed, weight), bias) as tf.Tensor4D);
}

function maxRelative(a: tf.Tensor, b: tf.Tensor): number {
  const av = a.dataSync();
  const bv = b.dataSync();
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < bv.length; i++) {
    diff = Math.max(diff, Math.abs(av[i]! - bv[i]!));
    scale = Math.max(scale, Math.abs(bv[i]!));
  }
  return diff / scale;
}

describe('groupNorm (custom gradient)', () => {
  it.each([
    { name: '2 groups of 3 channels', shape: [2, 5, 4, 6], groups: 2 },
    { name: 'one channel per group (GN(32) on 32 channels)', shape: [2, 3, 4, 8], groups: 8 },
    { name: 'one group (layer norm over H, W, C)', shape: [1, 6, 3, 4], groups: 1 },
  ])('matches autodiff of the composed form: $name', ({ shape, groups }) => {
    const [, , , c] = shape as [number, number, number, number];
    const x = toTensor(arr4(shape as [number, number, number, number], 11)) as tf.Tensor4D;
    const weight = tf.tensor1d(Array.from({ length: c }, (_, i) => 0.5 + 0.25 * i * (i % 2 === 0 ? 1 : -1)));
    const bias = tf.tensor1d(Array.from({ length: c }, (_, i) => 0.1 * i - 0.2));
    // A loss whose upstream gradient varies per element, so no term of the backward cancels.
    const probe = toTensor(arr4(shape as [number, number, number, number], 12));
    for (const affine of [true, false]) {
      const w = affine ? weight : null;
      const b = affine ? bias : null;
      const ours = groupNorm(x, groups, 1e-5, w, b);
      const reference = composed(x, groups, 1e-5, w, b);
      expect(Array.from(ours.dataSync())).toEqual(Array.from(reference.dataSync()));
      const loss = (f: typeof composed) => (xi: tf.Tensor, wi?: tf.Tensor, bi?: tf.Tensor) =>
        tf.sum(tf.mul(tf.square(f(xi as tf.Tensor4D, groups, 1e-5, (wi ?? null) as tf.Tensor1D | null, (bi ?? null) as tf.Tensor1D | null)), probe));
      const inputs = affine ? [x, weight, bias] : [x];
      const gOurs = tf.grads(loss(groupNorm))(inputs);
      const gRef = tf.grads(loss(composed))(inputs);
      expect(gOurs.length).toBe(inputs.length);
      for (let i = 0; i < inputs.length; i++) expect(maxRelative(gOurs[i]!, gRef[i]!)).toBeLessThan(1e-5);
      tf.dispose([ours, reference, ...gOurs, ...gRef]);
    }
    tf.dispose([x, weight, bias, probe]);
  });

  it('the input gradient sums to zero per sample and group (the mean is subtracted)', () => {
    const x = toTensor(arr4([2, 4, 4, 6], 5)) as tf.Tensor4D;
    const probe = toTensor(arr4([2, 4, 4, 6], 6));
    const dx = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(groupNorm(xi as tf.Tensor4D, 3, 1e-5, null, null), probe)))(x);
    const perGroup = tf.sum(tf.reshape(dx, [2, 16, 3, 2]), [1, 3]).dataSync();
    for (const v of perGroup) expect(Math.abs(v)).toBeLessThan(1e-5);
    tf.dispose([x, probe, dx]);
  });

  it('GroupNorm module training step keeps numTensors flat', () => {
    const gn = new GroupNorm(2, 4);
    const x = toTensor(arr4([2, 3, 3, 4], 7)) as tf.Tensor4D;
    const step = () => {
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(gn.forward(x))) as tf.Scalar, [gn.weight!, gn.bias!]);
      tf.dispose([value, ...Object.values(grads)]);
    };
    step();
    const before = tf.memory().numTensors;
    step();
    step();
    expect(tf.memory().numTensors).toBe(before);
    gn.dispose();
    x.dispose();
  });
});
