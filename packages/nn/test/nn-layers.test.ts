import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// Training needs tfjs's gradient registrations (the engine package imports them for real runs).
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { BatchNorm2d, Conv2d, GroupNorm, Module, Scale, Sequential, createRng, maxPool2d } from '../src/index.js';
import {
  arr4,
  channelMoments,
  conv2dRef,
  fromTensor,
  groupNormRef,
  maxAbsDiff,
  maxPoolRef,
  normalizeRef,
  testValues,
  toTensor,
  variableArr4,
  vec,
} from './nn-reference.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('Conv2d', () => {
  const cases: Array<{ name: string; input: [number, number, number, number]; k: [number, number]; stride: [number, number]; pad: [number, number]; dilation: [number, number]; bias: boolean }> = [
    { name: '3x3 stride 2 pad 1 (torch symmetric), odd input', input: [2, 7, 9, 3], k: [3, 3], stride: [2, 2], pad: [1, 1], dilation: [1, 1], bias: true },
    { name: '3x3 stride 2 pad 1, even input', input: [1, 8, 6, 2], k: [3, 3], stride: [2, 2], pad: [1, 1], dilation: [1, 1], bias: false },
    { name: '7x7 stride 2 pad 3 (ResNet stem)', input: [1, 11, 10, 3], k: [7, 7], stride: [2, 2], pad: [3, 3], dilation: [1, 1], bias: false },
    { name: '1x1 stride 2 (downsample)', input: [2, 5, 5, 4], k: [1, 1], stride: [2, 2], pad: [0, 0], dilation: [1, 1], bias: true },
    { name: '3x3 dilation 2 pad 2', input: [1, 7, 8, 2], k: [3, 3], stride: [1, 1], pad: [2, 2], dilation: [2, 2], bias: true },
    { name: '3x1 kernel, padding [1, 0]', input: [1, 5, 4, 2], k: [3, 1], stride: [1, 1], pad: [1, 0], dilation: [1, 1], bias: true },
  ];
  for (const c of cases) {
    it(`matches a float64 reference: ${c.name}`, async () => {
      const conv = new Conv2d({
        inChannels: c.input[3],
        outChannels: 3,
        kernelSize: c.k,
        stride: c.stride,
        padding: c.pad,
        dilation: c.dilation,
        bias: c.bias,
        rng: createRng(7),
      });
      const x = arr4(c.input, 11);
      const xt = toTensor(x);
      const y = conv.forward(xt);
      const ref = conv2dRef(x, await variableArr4(conv.weight), conv.bias === null ? null : await vec(conv.bias), c.stride, c.pad, c.dilation);
      expect(y.shape).toEqual(ref.shape);
      expect(maxAbsDiff(await fromTensor(y), ref)).toBeLessThan(1e-5);
      expect(conv.weight.shape).toEqual([c.k[0], c.k[1], c.input[3], 3]);
      tf.dispose([xt, y]);
      conv.dispose();
    });
  }

  it('rejects bad options and input, naming them', () => {
    const rng = createRng(0);
    expect(() => new Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3, rng, padd: 1 } as never)).toThrow(/unknown option 'padd'/);
    expect(() => new Conv2d({ inChannels: 0, outChannels: 4, kernelSize: 3, rng })).toThrow(/inChannels/);
    expect(() => new Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3 } as never)).toThrow(/rng/);
    expect(() => new Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3, stride: 2, dilation: 2, rng })).toThrow(/dilation/);
    const conv = new Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3, rng });
    const x = tf.zeros([1, 4, 4, 2]) as tf.Tensor4D;
    expect(() => conv.forward(x)).toThrow(/3 channels.*\[1, 4, 4, 2\]/);
    x.dispose();
    conv.dispose();
  });
});

describe('BatchNorm2d', () => {
  it('training mode: batch statistics, then running stats with unbiased variance (torch update)', async () => {
    const bn = new BatchNorm2d(3, { momentum: 0.1 });
    bn.weight.assign(tf.tensor1d([1.5, -0.5, 2]));
    bn.bias.assign(tf.tensor1d([0.1, 0.2, -0.3]));
    const x1 = arr4([2, 3, 4, 3], 5);
    const x2 = arr4([2, 3, 4, 3], 6);
    const gamma = Float64Array.from([1.5, -0.5, 2]);
    const beta = Float64Array.from([0.1, 0.2, -0.3]);
    const expectedMean = new Float64Array(3);
    const expectedVar = new Float64Array(3).fill(1);
    for (const x of [x1, x2]) {
      const xt = toTensor(x);
      const y = bn.forward(xt);
      const { mean, variance } = channelMoments(x);
      expect(maxAbsDiff(await fromTensor(y), normalizeRef(x, mean, variance, gamma, beta, 1e-5))).toBeLessThan(1e-5);
      const count = x.data.length / 3;
      for (let c = 0; c < 3; c++) {
        expectedMean[c] = 0.9 * (expectedMean[c] as number) + 0.1 * (mean[c] as number);
        expectedVar[c] = 0.9 * (expectedVar[c] as number) + 0.1 * ((variance[c] as number) * count) / (count - 1);
      }
      tf.dispose([xt, y]);
    }
    const rm = await vec(bn.runningMean);
    const rv = await vec(bn.runningVar);
    for (let c = 0; c < 3; c++) {
      expect(rm[c]).toBeCloseTo(expectedMean[c] as number, 6);
      expect(rv[c]).toBeCloseTo(expectedVar[c] as number, 6);
    }
    bn.dispose();
  });

  it('eval mode normalises with the running stats and leaves them unchanged', async () => {
    const bn = new BatchNorm2d(2, { eps: 1e-3 });
    bn.runningMean.assign(tf.tensor1d([0.5, -1]));
    bn.runningVar.assign(tf.tensor1d([2, 0.25]));
    bn.weight.assign(tf.tensor1d([3, 1]));
    bn.eval();
    const x = arr4([1, 2, 3, 2], 9);
    const xt = toTensor(x);
    const y = bn.forward(xt);
    const ref = normalizeRef(x, Float64Array.from([0.5, -1]), Float64Array.from([2, 0.25]), Float64Array.from([3, 1]), Float64Array.from([0, 0]), 1e-3);
    expect(maxAbsDiff(await fromTensor(y), ref)).toBeLessThan(1e-5);
    expect(Array.from(await vec(bn.runningMean))).toEqual([0.5, -1]);
    tf.dispose([xt, y]);
    bn.dispose();
  });

  it('gradients flow in training mode (d/dbias of sum(y * r) = sum r over N, H, W)', async () => {
    const bn = new BatchNorm2d(2);
    const x = toTensor(arr4([2, 2, 2, 2], 3));
    const r = arr4([2, 2, 2, 2], 4);
    const rt = toTensor(r);
    const { grads, value } = tf.variableGrads(() => tf.sum(tf.mul(bn.forward(x), rt)) as tf.Scalar);
    const expected = new Float64Array(2);
    r.data.forEach((v, i) => (expected[i % 2] = (expected[i % 2] as number) + v));
    const gBias = await vec(grads[bn.bias.name] as tf.Tensor);
    expect(gBias[0]).toBeCloseTo(expected[0] as number, 5);
    expect(gBias[1]).toBeCloseTo(expected[1] as number, 5);
    // Running stats are buffers: never trainable, never in the gradients.
    expect(grads[bn.runningMean.name]).toBeUndefined();
    tf.dispose([x, rt, value, ...Object.values(grads)]);
    bn.dispose();
  });

  it('frozen: no trainable params, running stats used and unchanged by a training step', async () => {
    class Net extends Module<tf.Tensor4D, tf.Tensor4D> {
      conv = this.registerModule('conv', new Conv2d({ inChannels: 2, outChannels: 3, kernelSize: 3, padding: 1, rng: createRng(3) }));
      bn = this.registerModule('bn', new BatchNorm2d(3));
      forward(x: tf.Tensor4D): tf.Tensor4D {
        return tf.tidy(() => this.bn.forward(this.conv.forward(x)));
      }
    }
    const net = new Net();
    net.bn.runningMean.assign(tf.tensor1d([0.1, 0.2, 0.3]));
    net.bn.runningVar.assign(tf.tensor1d([1.5, 2.5, 3.5]));
    net.bn.freeze();
    net.train();
    expect(net.bn.usesBatchStats).toBe(false);
    expect(net.trainableVariables()).toEqual([net.conv.weight, net.conv.bias]);
    const before = {
      weight: await vec(net.bn.weight),
      bias: await vec(net.bn.bias),
      mean: await vec(net.bn.runningMean),
      variance: await vec(net.bn.runningVar),
      conv: await vec(net.conv.weight),
    };
    const x = toTensor(arr4([2, 4, 4, 2], 1));
    // In frozen mode the output equals the eval-mode formula with the running stats.
    const y = net.forward(x);
    const convOut = net.conv.forward(x);
    const ref = normalizeRef(await fromTensor(convOut), before.mean, before.variance, before.weight, before.bias, 1e-5);
    expect(maxAbsDiff(await fromTensor(y), ref)).toBeLessThan(1e-5);
    const optimizer = tf.train.sgd(0.1);
    optimizer.minimize(() => tf.sum(tf.square(net.forward(x))) as tf.Scalar);
    expect(Array.from(await vec(net.bn.weight))).toEqual(Array.from(before.weight));
    expect(Array.from(await vec(net.bn.bias))).toEqual(Array.from(before.bias));
    expect(Array.from(await vec(net.bn.runningMean))).toEqual(Array.from(before.mean));
    expect(Array.from(await vec(net.bn.runningVar))).toEqual(Array.from(before.variance));
    expect(Array.from(await vec(net.conv.weight))).not.toEqual(Array.from(before.conv));
    net.bn.unfreeze();
    expect(net.trainableVariables()).toHaveLength(4);
    tf.dispose([x, y, convOut]);
    optimizer.dispose();
    net.dispose();
  });

  it('refuses training with one value per channel', () => {
    const bn = new BatchNorm2d(2);
    const x = tf.zeros([1, 1, 1, 2]) as tf.Tensor4D;
    expect(() => bn.forward(x)).toThrow(/more than 1 value per channel/);
    x.dispose();
    bn.dispose();
  });
});

describe('GroupNorm', () => {
  it('matches a float64 reference (3 groups of 2 channels, affine)', async () => {
    const gn = new GroupNorm(3, 6);
    const gamma = Float64Array.from([1, 2, -1, 0.5, 1.5, 3]);
    const beta = Float64Array.from([0, 0.1, 0.2, -0.2, 1, -1]);
    gn.weight?.assign(tf.tensor1d(Float32Array.from(gamma)));
    gn.bias?.assign(tf.tensor1d(Float32Array.from(beta)));
    const x = arr4([2, 3, 5, 6], 21);
    const xt = toTensor(x);
    const y = gn.forward(xt);
    const ref = groupNormRef(x, 3, Float64Array.from(gamma, (v) => Math.fround(v)), Float64Array.from(beta, (v) => Math.fround(v)), 1e-5);
    expect(maxAbsDiff(await fromTensor(y), ref)).toBeLessThan(1e-5);
    tf.dispose([xt, y]);
    gn.dispose();
  });

  it('rejects channels not divisible by groups', () => {
    expect(() => new GroupNorm(4, 6)).toThrow(/6 is not divisible by numGroups 4/);
  });
});

describe('Scale and maxPool2d', () => {
  it('Scale multiplies by its learnable scalar', async () => {
    const s = new Scale(2.5);
    const x = tf.tensor1d([1, -2, 4]);
    const y = s.forward(x);
    expect(Array.from(await y.data())).toEqual([2.5, -5, 10]);
    expect(s.namedParameters().map(([n, v]) => [n, v.shape])).toEqual([['scale', []]]);
    tf.dispose([x, y]);
    s.dispose();
  });

  it('maxPool2d(3, 2, pad 1) follows torch (padding never wins), odd and even sizes', async () => {
    for (const shape of [[1, 7, 6, 2], [2, 8, 8, 1]] as Array<[number, number, number, number]>) {
      // All-negative input so zero padding would be detected.
      const x = arr4(shape, 13);
      x.data = x.data.map((v) => Math.fround(v - 2));
      const xt = toTensor(x);
      const y = maxPool2d(xt, 3, 2, 1);
      const ref = maxPoolRef(x, 3, 2, 1);
      expect(y.shape).toEqual(ref.shape);
      expect(maxAbsDiff(await fromTensor(y), ref)).toBe(0);
      tf.dispose([xt, y]);
    }
  });
});

describe('testValues helper', () => {
  it('is deterministic and spread over [-1, 1)', () => {
    const a = testValues(1000, 3);
    expect(Array.from(testValues(1000, 3))).toEqual(Array.from(a));
    expect(Math.min(...a)).toBeLessThan(-0.9);
    expect(Math.max(...a)).toBeGreaterThan(0.9);
  });
});

describe('Sequential', () => {
  it('chains layers and names them by index', async () => {
    const rng = createRng(1);
    const seq = new Sequential([
      new Conv2d({ inChannels: 1, outChannels: 2, kernelSize: 1, rng }),
      new Conv2d({ inChannels: 2, outChannels: 1, kernelSize: 1, rng }),
    ]);
    expect(seq.namedParameters().map(([n]) => n)).toEqual(['0.weight', '0.bias', '1.weight', '1.bias']);
    const x = tf.ones([1, 1, 1, 1]) as tf.Tensor4D;
    const y = seq.forward(x);
    const [w0, b0, w1, b1] = await Promise.all(seq.namedParameters().map(([, v]) => vec(v)));
    const h = [0, 1].map((c) => (w0 as Float64Array)[c]! + (b0 as Float64Array)[c]!);
    const expected = h[0]! * (w1 as Float64Array)[0]! + h[1]! * (w1 as Float64Array)[1]! + (b1 as Float64Array)[0]!;
    expect((await y.data())[0]).toBeCloseTo(expected, 6);
    tf.dispose([x, y]);
    seq.dispose();
  });
});
