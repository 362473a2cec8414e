// Training-mode BatchNorm's custom gradient (src/nn/batch-norm.ts) against a float64 reference
// forward and central finite differences of it; the conv with a folded eval-mode BatchNorm, bias
// and ReLU (Conv2d.forwardFused, convNormAct) against the unfolded layers, forward and gradients.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { BatchNorm2d, Conv2d, ConvModule, createRng } from '../src/index.js';
import { batchNormTrain } from '../src/layers/batch-norm.js';
import { type Arr4, arr4, channelMoments, conv2dRef, fromTensor, maxAbsDiff, normalizeRef, reluRef, toTensor } from './nn-reference.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const SHAPE: [number, number, number, number] = [2, 3, 4, 3];
const GAMMA = [1.5, -0.5, 2];
const BETA = [0.1, 0.2, -0.3];
const EPS = 1e-5;

/** Input with a per-channel offset larger than its spread, where a careless forward cancels. */
function offsetInput(seed: number): Arr4 {
  const x = arr4(SHAPE, seed);
  const offsets = [3, -2, 0.5];
  return { shape: x.shape, data: x.data.map((v, i) => Math.fround(v + (offsets[i % 3] as number))) };
}

/** float64 loss sum(bn(x) * probe) of training-mode BatchNorm. */
function lossRef(x: Arr4, gamma: number[], beta: number[], probe: Arr4): number {
  const { mean, variance } = channelMoments(x);
  const y = normalizeRef(x, mean, variance, Float64Array.from(gamma), Float64Array.from(beta), EPS);
  return y.data.reduce((s, v, i) => s + v * (probe.data[i] as number), 0);
}

describe('batchNormTrain (custom gradient)', () => {
  it('forward and batch statistics match float64 (per-channel offsets 3, -2, 0.5)', async () => {
    const x = offsetInput(5);
    const xt = toTensor(x);
    const gamma = tf.tensor1d(GAMMA);
    const beta = tf.tensor1d(BETA);
    let stats: { mean: number[]; variance: number[] } | null = null;
    const y = batchNormTrain(xt, gamma, beta, EPS, ({ mean, variance }) => {
      stats = { mean: Array.from(mean.dataSync()), variance: Array.from(variance.dataSync()) };
    });
    const ref = channelMoments(x);
    expect(maxAbsDiff(await fromTensor(y), normalizeRef(x, ref.mean, ref.variance, Float64Array.from(GAMMA), Float64Array.from(BETA), EPS))).toBeLessThan(2e-6);
    expect(stats).not.toBeNull();
    const got = stats as unknown as { mean: number[]; variance: number[] };
    for (let c = 0; c < 3; c++) {
      expect(got.mean[c]).toBeCloseTo(ref.mean[c] as number, 6);
      expect(got.variance[c]).toBeCloseTo(ref.variance[c] as number, 6);
    }
    tf.dispose([xt, gamma, beta, y]);
  });

  it('dx, dweight and dbias match central finite differences of the float64 forward', () => {
    const x = offsetInput(7);
    const probe = arr4(SHAPE, 8);
    const xt = toTensor(x);
    const pt = toTensor(probe);
    const gamma = tf.tensor1d(GAMMA);
    const beta = tf.tensor1d(BETA);
    const [dx, dGamma, dBeta] = tf.grads((xi: tf.Tensor, gi: tf.Tensor, bi: tf.Tensor) =>
      tf.sum(tf.mul(batchNormTrain(xi as tf.Tensor4D, gi as tf.Tensor1D, bi as tf.Tensor1D, EPS), pt)),
    )([xt, gamma, beta]) as [tf.Tensor, tf.Tensor, tf.Tensor];
    const h = 1e-6;
    const central = (f: (d: number) => number) => (f(h) - f(-h)) / (2 * h);
    const dxv = dx.dataSync();
    // Every element of a small input: the mean-subtracted terms couple all of a channel's values.
    for (let i = 0; i < x.data.length; i++) {
      const numeric = central((d) => {
        const data = x.data.slice();
        data[i] = (data[i] as number) + d;
        return lossRef({ shape: x.shape, data }, GAMMA, BETA, probe);
      });
      expect(Math.abs((dxv[i] as number) - numeric), `dx[${i}]`).toBeLessThan(2e-4 * Math.max(1, Math.abs(numeric)));
    }
    const dg = dGamma.dataSync();
    const db = dBeta.dataSync();
    for (let c = 0; c < 3; c++) {
      const gNum = central((d) => lossRef(x, GAMMA.map((v, k) => (k === c ? v + d : v)), BETA, probe));
      const bNum = central((d) => lossRef(x, GAMMA, BETA.map((v, k) => (k === c ? v + d : v)), probe));
      expect(dg[c]).toBeCloseTo(gNum, 4);
      expect(db[c]).toBeCloseTo(bNum, 4);
    }
    // The input gradient sums to zero per channel (the batch mean is subtracted).
    const perChannel = tf.sum(dx, [0, 1, 2]).dataSync();
    for (const v of perChannel) expect(Math.abs(v)).toBeLessThan(1e-5);
    tf.dispose([xt, pt, gamma, beta, dx, dGamma, dBeta]);
  });

  it('matches tfjs autodiff of the composed form it replaced', () => {
    const xt = toTensor(offsetInput(9));
    const pt = toTensor(arr4(SHAPE, 10));
    const gamma = tf.tensor1d(GAMMA);
    const beta = tf.tensor1d(BETA);
    const composed = (xi: tf.Tensor, gi: tf.Tensor, bi: tf.Tensor) => {
      const { mean, variance } = tf.moments(xi, [0, 1, 2]);
      return tf.add(tf.mul(tf.mul(tf.sub(xi, mean), tf.rsqrt(tf.add(variance, EPS))), gi), bi);
    };
    const ours = (xi: tf.Tensor, gi: tf.Tensor, bi: tf.Tensor) => batchNormTrain(xi as tf.Tensor4D, gi as tf.Tensor1D, bi as tf.Tensor1D, EPS);
    const loss = (f: typeof composed) => (xi: tf.Tensor, gi: tf.Tensor, bi: tf.Tensor) => tf.sum(tf.mul(tf.square(f(xi, gi, bi)), pt));
    const gOurs = tf.grads(loss(ours))([xt, gamma, beta]);
    const gRef = tf.grads(loss(composed))([xt, gamma, beta]);
    for (let i = 0; i < 3; i++) {
      const diff = tf.max(tf.abs(tf.sub(gOurs[i]!, gRef[i]!))).dataSync()[0] as number;
      const scale = tf.max(tf.abs(gRef[i]!)).dataSync()[0] as number;
      expect(diff / scale).toBeLessThan(1e-5);
    }
    tf.dispose([xt, pt, gamma, beta, ...gOurs, ...gRef]);
  });

  it('BatchNorm2d training steps keep numTensors flat and update running stats once per forward', async () => {
    const bn = new BatchNorm2d(3, { momentum: 0.5 });
    const x = toTensor(offsetInput(11));
    const step = () => {
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(bn.forward(x))) as tf.Scalar, [bn.weight, bn.bias]);
      tf.dispose([value, ...Object.values(grads)]);
    };
    step();
    const before = tf.memory().numTensors;
    step();
    step();
    expect(tf.memory().numTensors).toBe(before);
    // Three forwards at momentum 0.5 from running mean 0: mean * (1 - 0.5^3).
    const { mean } = channelMoments(offsetInput(11));
    const rm = bn.runningMean.dataSync();
    for (let c = 0; c < 3; c++) expect(rm[c]).toBeCloseTo((mean[c] as number) * 0.875, 5);
    x.dispose();
    bn.dispose();
  });
});

describe('conv with folded bias, eval-mode BatchNorm and ReLU', () => {
  const convOptions = { inChannels: 2, outChannels: 3, kernelSize: 3, stride: 2, padding: 1, rng: createRng(4) };

  it('forwardFused matches float64 conv -> bias -> scale/shift -> ReLU', async () => {
    const conv = new Conv2d(convOptions);
    const x = arr4([2, 5, 6, 2], 12);
    const xt = toTensor(x);
    const scale = tf.tensor1d([0.5, -2, 1.25]);
    const shift = tf.tensor1d([0.3, -0.1, 0.2]);
    const y = conv.forwardFused(xt, { scale, shift, relu: true });
    const w = { shape: conv.weight.shape as Arr4['shape'], data: Float64Array.from(conv.weight.dataSync()) };
    const bias = Float64Array.from(conv.bias!.dataSync());
    const raw = conv2dRef(x, w, bias, [2, 2], [1, 1]);
    const affine = { shape: raw.shape, data: raw.data.map((v, i) => v * [0.5, -2, 1.25][i % 3]! + [0.3, -0.1, 0.2][i % 3]!) };
    expect(maxAbsDiff(await fromTensor(y), reluRef(affine))).toBeLessThan(1e-5);
    expect(() => conv.forwardFused(xt, { scale: tf.tensor1d([1, 2]) })).toThrow(/'scale' must have shape \[3\], got \[2\]/);
    tf.dispose([xt, scale, shift, y]);
    conv.dispose();
  });

  it('ConvModule with an eval-mode BatchNorm: folded forward and gradients equal the unfolded layers', () => {
    const module = new ConvModule({ ...convOptions, norm: { type: 'bn' }, relu: true });
    const bn = module.norm as BatchNorm2d;
    bn.runningMean.assign(tf.tensor1d([0.2, -0.4, 0.1]));
    bn.runningVar.assign(tf.tensor1d([0.5, 2, 1.5]));
    bn.weight.assign(tf.tensor1d([1.3, -0.7, 0.9]));
    bn.bias.assign(tf.tensor1d([0.05, 0.3, -0.2]));
    // normEval: the module trains, its BatchNorm stays in eval mode (weights still trainable).
    module.train();
    bn.eval();
    const x = toTensor(arr4([2, 6, 5, 2], 13));
    const probe = toTensor(arr4([2, 3, 3, 3], 14));
    const unfolded = () => tf.relu(bn.forward(module.conv.forward(x)));
    const folded = tf.tidy(() => module.forward(x));
    const reference = tf.tidy(unfolded);
    expect(tf.max(tf.abs(tf.sub(folded, reference))).dataSync()[0]).toBeLessThan(1e-5);
    const variables = [module.conv.weight, bn.weight, bn.bias];
    const loss = (f: () => tf.Tensor) => () => tf.sum(tf.mul(f(), probe)) as tf.Scalar;
    const a = tf.variableGrads(loss(() => module.forward(x)), variables);
    const b = tf.variableGrads(loss(unfolded), variables);
    for (const v of variables) {
      const ga = a.grads[v.name]!;
      const gb = b.grads[v.name]!;
      const diff = tf.max(tf.abs(tf.sub(ga, gb))).dataSync()[0] as number;
      const scale = tf.max(tf.abs(gb)).dataSync()[0] as number;
      expect(scale, v.name).toBeGreaterThan(0);
      expect(diff / scale, v.name).toBeLessThan(1e-5);
    }
    const dxFolded = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(module.forward(xi as tf.Tensor4D), probe)))(x);
    const dxRef = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(tf.relu(bn.forward(module.conv.forward(xi as tf.Tensor4D))), probe)))(x);
    expect(tf.max(tf.abs(tf.sub(dxFolded, dxRef))).dataSync()[0]).toBeLessThan(1e-5);
    tf.dispose([x, probe, folded, reference, a.value, b.value, ...Object.values(a.grads), ...Object.values(b.grads), dxFolded, dxRef]);
    module.dispose();
  });

  it('inference keeps the folded filter until a variable is reassigned; dispose frees it', () => {
    const module = new ConvModule({ ...convOptions, norm: { type: 'bn' }, relu: false });
    const bn = module.norm as BatchNorm2d;
    module.eval();
    const x = toTensor(arr4([1, 4, 4, 2], 17));
    const baseline = tf.memory().numTensors;
    const y1 = module.forward(x);
    // The folded filter and bias stay; a second forward adds nothing but its output.
    expect(tf.memory().numTensors).toBe(baseline + 3);
    const y2 = module.forward(x);
    expect(tf.memory().numTensors).toBe(baseline + 4);
    expect(Array.from(y2.dataSync())).toEqual(Array.from(y1.dataSync()));
    // Reassigning the running variance must refold: each output channel scales by 1/sqrt(4 + eps).
    const four = tf.fill([3], 4 - 1e-5);
    bn.runningVar.assign(four);
    four.dispose();
    const y3 = module.forward(x);
    expect(tf.memory().numTensors).toBe(baseline + 5);
    const a = y1.dataSync();
    const b = y3.dataSync();
    for (let i = 0; i < a.length; i++) expect(b[i]).toBeCloseTo(((a[i] as number) * Math.sqrt(1 + 1e-5)) / 2, 5);
    tf.dispose([y1, y2, y3]);
    module.dispose();
    expect(tf.memory().numTensors).toBe(baseline - 5);
    x.dispose();
  });

  it('a biased conv trains through FusedConv2D: gradients equal conv + add, numTensors flat', () => {
    // Dilation 1 only: tfjs has no conv gradient for dilation > 1, fused or not.
    const conv = new Conv2d({ inChannels: 2, outChannels: 3, kernelSize: 3, padding: 1, rng: createRng(5) });
    const x = toTensor(arr4([2, 5, 5, 2], 15));
    const probe = toTensor(arr4([2, 5, 5, 3], 16));
    const separate = () => tf.add(tf.conv2d(x, conv.weight as tf.Tensor4D, 1, 1), conv.bias!);
    const loss = (f: () => tf.Tensor) => () => tf.sum(tf.mul(tf.square(f()), probe)) as tf.Scalar;
    const step = () => tf.variableGrads(loss(() => conv.forward(x)), [conv.weight, conv.bias!]);
    const a = step();
    const b = tf.variableGrads(loss(separate), [conv.weight, conv.bias!]);
    for (const v of [conv.weight, conv.bias!]) {
      const diff = tf.max(tf.abs(tf.sub(a.grads[v.name]!, b.grads[v.name]!))).dataSync()[0] as number;
      const scale = tf.max(tf.abs(b.grads[v.name]!)).dataSync()[0] as number;
      expect(scale, v.name).toBeGreaterThan(0);
      expect(diff / scale, v.name).toBeLessThan(1e-5);
    }
    tf.dispose([a.value, b.value, ...Object.values(a.grads), ...Object.values(b.grads)]);
    const before = tf.memory().numTensors;
    const again = step();
    tf.dispose([again.value, ...Object.values(again.grads)]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, probe]);
    conv.dispose();
  });
});
