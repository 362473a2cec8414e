import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { ConvTower, createHeadConv, createRng, createScales, DEFAULT_PRIOR_PROB, HEAD_INIT_STD } from '../src/index.js';
import { arr4, conv2dRef, fromTensor, groupNormRef, maxAbsDiff, reluRef, toTensor, variableArr4, vec, type Arr4 } from './nn-reference.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('ConvTower', () => {
  it('has mmdet ConvModule names; no conv bias with GN, zero conv bias without', () => {
    const tower = new ConvTower({ inChannels: 8, featChannels: 16, numConvs: 2, norm: { type: 'gn', numGroups: 4 }, rng: createRng(1) });
    expect(tower.namedParameters().map(([n, v]) => `${n}:${v.shape.join('x')}`)).toEqual([
      '0.conv.weight:3x3x8x16',
      '0.gn.weight:16',
      '0.gn.bias:16',
      '1.conv.weight:3x3x16x16',
      '1.gn.weight:16',
      '1.gn.bias:16',
    ]);
    expect(tower.outChannels).toBe(16);
    tower.dispose();
    const plain = new ConvTower({ inChannels: 4, featChannels: 4, numConvs: 1, norm: null, rng: createRng(1) });
    expect(plain.namedParameters().map(([n]) => n)).toEqual(['0.conv.weight', '0.conv.bias']);
    expect(Array.from(plain.namedParameters()[1]![1].dataSync())).toEqual([0, 0, 0, 0]);
    plain.dispose();
  });

  it('each unit is conv -> GroupNorm -> ReLU (float64 reference), same weights on every level', async () => {
    const tower = new ConvTower({ inChannels: 3, featChannels: 4, numConvs: 2, norm: { type: 'gn', numGroups: 2 }, std: 0.5, rng: createRng(2) });
    const p = new Map(tower.namedParameters());
    for (const [name, v] of p) if (name.includes('gn')) v.assign(tf.randomUniform(v.shape, 0.5, 1.5, 'float32', name.length));
    const ref = async (x: Arr4) => {
      let y = x;
      for (const i of [0, 1]) {
        y = conv2dRef(y, await variableArr4(p.get(`${i}.conv.weight`)!), null, [1, 1], [1, 1]);
        y = reluRef(groupNormRef(y, 2, await vec(p.get(`${i}.gn.weight`)!), await vec(p.get(`${i}.gn.bias`)!), 1e-5));
      }
      return y;
    };
    const levels = [arr4([2, 6, 5, 3], 1), arr4([2, 3, 3, 3], 2)];
    const tensors = levels.map(toTensor);
    const outs = tower.forwardLevels(tensors);
    for (const [i, o] of outs.entries()) expect(maxAbsDiff(await fromTensor(o), await ref(levels[i]!))).toBeLessThan(1e-5);
    tf.dispose([...tensors, ...outs]);
    tower.dispose();
  });

  it('numConvs 0 is the identity (a copy the caller owns)', async () => {
    const tower = new ConvTower({ inChannels: 5, featChannels: 8, numConvs: 0, rng: createRng(0) });
    expect(tower.outChannels).toBe(5);
    const x = tf.ones([1, 2, 2, 5]) as tf.Tensor4D;
    const y = tower.forward(x);
    expect(y).not.toBe(x);
    expect(Array.from(await y.data())).toEqual(Array.from(await x.data()));
    tf.dispose([x, y]);
  });

  it('default norm is GroupNorm(32) and validates options', () => {
    const tower = new ConvTower({ inChannels: 64, featChannels: 64, numConvs: 1, rng: createRng(0) });
    expect(tower.namedParameters().map(([n]) => n)).toContain('0.gn.weight');
    tower.dispose();
    expect(() => new ConvTower({ inChannels: 8, featChannels: 8, numConvs: -1, rng: createRng(0) })).toThrow(/numConvs/);
    expect(() => new ConvTower({ inChannels: 8, featChannels: 8, numConvs: 1, rng: createRng(0) })).toThrow(/not divisible by numGroups 32/);
    expect(() => new ConvTower({ inChannels: 8, featChannels: 8, numConvs: 1, rng: createRng(0), gn: true } as never)).toThrow(/unknown option 'gn'/);
  });
});

describe('createHeadConv and createScales', () => {
  it('classification conv: bias -log((1 - p) / p) for the default prior 0.01; regression conv: bias 0', () => {
    expect(HEAD_INIT_STD).toBe(0.01);
    const cls = createHeadConv({ inChannels: 8, outChannels: 3, priorProb: DEFAULT_PRIOR_PROB, rng: createRng(3) });
    expect(Array.from(cls.bias!.dataSync())).toEqual([1, 2, 3].map(() => Math.fround(-4.59511985013459)));
    expect(cls.kernelSize).toEqual([3, 3]);
    expect(cls.padding).toEqual([1, 1]);
    const reg = createHeadConv({ inChannels: 8, outChannels: 4, rng: createRng(3) });
    expect(Array.from(reg.bias!.dataSync())).toEqual([0, 0, 0, 0]);
    expect(() => createHeadConv({ inChannels: 8, outChannels: 4, priorProb: 0.01, bias: 1, rng: createRng(3) })).toThrow(/'priorProb' or 'bias'/);
    expect(() => createHeadConv({ inChannels: 8, outChannels: 4, kernelSize: 2, rng: createRng(3) })).toThrow(/odd/);
    cls.dispose();
    reg.dispose();
  });

  it('one Scale per level, trained independently', async () => {
    const scales = createScales(3);
    expect(scales.namedParameters().map(([n]) => n)).toEqual(['0.scale', '1.scale', '2.scale']);
    const xs = [tf.scalar(1), tf.scalar(2), tf.scalar(3)];
    const optimizer = tf.train.sgd(0.5);
    // loss = s0 * 1 + s1 * 2 + s2 * 3: gradients 1, 2, 3.
    optimizer.minimize(() => tf.addN(scales.forward(xs)) as tf.Scalar);
    const values = await Promise.all(scales.namedParameters().map(([, v]) => v.data()));
    expect(values.map((v) => v[0])).toEqual([0.5, 0, -0.5]);
    optimizer.dispose();
    tf.dispose(xs);
    scales.dispose();
  });
});
