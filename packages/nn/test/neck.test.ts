import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { createBackbone, createFpn, upsampleNearest, type ExtraConvSource, type Fpn } from '../src/index.js';
import {
  addRef,
  arr4,
  conv2dRef,
  fromTensor,
  maxAbsDiff,
  maxPoolRef,
  reluRef,
  toTensor,
  upsampleNearestRef,
  variableArr4,
  vec,
  type Arr4,
} from './nn-reference.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('upsampleNearest', () => {
  const cases: Array<[number, number, number, number]> = [
    [4, 3, 8, 6], // exact doubling
    [4, 3, 7, 5], // odd target (2n - 1), as after a stride-2 conv of an odd map
    [1, 1, 2, 1],
    [3, 2, 7, 5], // not a doubling: general resize path
  ];
  for (const [h, w, oh, ow] of cases) {
    it(`${h}x${w} -> ${oh}x${ow} equals torch's nearest (src = floor(dst * in / out))`, async () => {
      const x = arr4([2, h, w, 3], h * 10 + w);
      const xt = toTensor(x);
      const y = upsampleNearest(xt, oh, ow);
      expect(maxAbsDiff(await fromTensor(y), upsampleNearestRef(x, oh, ow))).toBe(0);
      tf.dispose([xt, y]);
    });
  }

  it('has gradients (sum of the 2x2 copies) through the doubling path', async () => {
    const x = tf.ones([1, 2, 2, 1]) as tf.Tensor4D;
    const g = tf.grad((t: tf.Tensor) => tf.sum(upsampleNearest(t as tf.Tensor4D, 3, 4)))(x);
    // 3 rows x 4 cols from 2x2: rows 0,1 <- row 0 and row 2 <- row 1; every column twice.
    expect(Array.from(await g.data())).toEqual([4, 4, 2, 2]);
    tf.dispose([x, g]);
  });
});

/** Float64 FPN with the module's own weights (mmdet's algorithm, written independently). */
async function fpnRef(fpn: Fpn, inputs: Arr4[], extra: ExtraConvSource, reluBeforeExtra: boolean, numExtra: number): Promise<Arr4[]> {
  const p = new Map(fpn.namedParameters());
  const conv = async (x: Arr4, prefix: string, stride: number, pad: number) =>
    conv2dRef(x, await variableArr4(p.get(`${prefix}.conv.weight`)!), await vec(p.get(`${prefix}.conv.bias`)!), [stride, stride], [pad, pad]);
  const laterals: Arr4[] = [];
  for (const [i, x] of inputs.entries()) laterals.push(await conv(x, `lateral_convs.${i}`, 1, 0));
  for (let i = laterals.length - 1; i > 0; i--) {
    const finer = laterals[i - 1]!;
    laterals[i - 1] = addRef(finer, upsampleNearestRef(laterals[i]!, finer.shape[1], finer.shape[2]));
  }
  const outs: Arr4[] = [];
  for (const [i, x] of laterals.entries()) outs.push(await conv(x, `fpn_convs.${i}`, 1, 1));
  for (let e = 0; e < numExtra; e++) {
    const prev = outs[outs.length - 1]!;
    if (extra === 'none') {
      outs.push(maxPoolRef(prev, 1, 2, 0));
      continue;
    }
    let src: Arr4;
    if (e === 0) src = extra === 'on_input' ? inputs[inputs.length - 1]! : extra === 'on_lateral' ? laterals[laterals.length - 1]! : prev;
    else src = reluBeforeExtra ? reluRef(prev) : prev;
    outs.push(await conv(src, `fpn_convs.${laterals.length + e}`, 2, 1));
  }
  return outs;
}

describe('Fpn values vs a float64 reference', () => {
  const configs: Array<{ extra: ExtraConvSource; relu: boolean }> = [
    { extra: 'on_input', relu: false },
    { extra: 'on_output', relu: true },
    { extra: 'on_lateral', relu: true },
    { extra: 'none', relu: false },
  ];
  for (const { extra, relu } of configs) {
    it(`P3-P7, extraConvs '${extra}', reluBeforeExtraConvs ${relu}`, async () => {
      const fpn = createFpn({ inChannels: [2, 3, 4], outChannels: 3, extraConvs: extra, reluBeforeExtraConvs: relu, seed: 4 });
      // Perturb the zero-initialised biases so the test sees them.
      for (const [name, v] of fpn.namedParameters()) if (name.endsWith('bias')) v.assign(tf.randomUniform(v.shape, -0.5, 0.5, 'float32', name.length));
      const inputs = [arr4([2, 11, 9, 2], 1), arr4([2, 6, 5, 3], 2), arr4([2, 3, 3, 4], 3)];
      const tensors = inputs.map(toTensor);
      const outs = fpn.forward(tensors);
      const ref = await fpnRef(fpn, inputs, extra, relu, 2);
      expect(outs.map((o) => o.shape)).toEqual(ref.map((r) => r.shape));
      expect(outs.map((o) => o.shape.slice(1, 3))).toEqual([[11, 9], [6, 5], [3, 3], [2, 2], [1, 1]]);
      for (const [i, o] of outs.entries()) expect(maxAbsDiff(await fromTensor(o), ref[i]!)).toBeLessThan(1e-5);
      tf.dispose([...tensors, ...outs]);
      fpn.dispose();
    });
  }
});

describe('Fpn configurations', () => {
  it('mmdet names; extra conv on_input reads C5 channels, on_output reads outChannels', () => {
    const a = createFpn({ inChannels: [8, 16, 32], outChannels: 4, extraConvs: 'on_input' });
    expect(a.namedParameters().map(([n, v]) => `${n}:${v.shape.join('x')}`)).toEqual([
      'lateral_convs.0.conv.weight:1x1x8x4',
      'lateral_convs.0.conv.bias:4',
      'lateral_convs.1.conv.weight:1x1x16x4',
      'lateral_convs.1.conv.bias:4',
      'lateral_convs.2.conv.weight:1x1x32x4',
      'lateral_convs.2.conv.bias:4',
      'fpn_convs.0.conv.weight:3x3x4x4',
      'fpn_convs.0.conv.bias:4',
      'fpn_convs.1.conv.weight:3x3x4x4',
      'fpn_convs.1.conv.bias:4',
      'fpn_convs.2.conv.weight:3x3x4x4',
      'fpn_convs.2.conv.bias:4',
      'fpn_convs.3.conv.weight:3x3x32x4',
      'fpn_convs.3.conv.bias:4',
      'fpn_convs.4.conv.weight:3x3x4x4',
      'fpn_convs.4.conv.bias:4',
    ]);
    const b = createFpn({ inChannels: [8, 16, 32], outChannels: 4, extraConvs: 'on_output' });
    expect(new Map(b.namedParameters()).get('fpn_convs.3.conv.weight')?.shape).toEqual([3, 3, 4, 4]);
    // xavier-uniform weights, zero biases (mmdet FPN init).
    expect(Array.from(new Map(b.namedParameters()).get('fpn_convs.0.conv.bias')!.dataSync())).toEqual([0, 0, 0, 0]);
    a.dispose();
    b.dispose();
  });

  it('GroupNorm option: convs without bias, gn after each', () => {
    const fpn = createFpn({ inChannels: [8, 16, 32], outChannels: 8, norm: { type: 'gn', numGroups: 4 }, maxLevel: 6 });
    const names = fpn.namedParameters().map(([n]) => n);
    expect(names.slice(0, 3)).toEqual(['lateral_convs.0.conv.weight', 'lateral_convs.0.gn.weight', 'lateral_convs.0.gn.bias']);
    expect(names.some((n) => n.endsWith('conv.bias'))).toBe(false);
    expect(fpn.levels).toEqual([3, 4, 5, 6]);
    fpn.dispose();
  });

  const shapeCases: Array<{ minLevel: number; maxLevel: number; extra: ExtraConvSource }> = [
    { minLevel: 3, maxLevel: 7, extra: 'on_input' },
    { minLevel: 3, maxLevel: 5, extra: 'on_input' },
    { minLevel: 3, maxLevel: 6, extra: 'none' },
    { minLevel: 4, maxLevel: 7, extra: 'on_output' },
    { minLevel: 5, maxLevel: 7, extra: 'on_lateral' },
    { minLevel: 3, maxLevel: 4, extra: 'on_output' },
  ];
  for (const { minLevel, maxLevel, extra } of shapeCases) {
    it(`P${minLevel}-P${maxLevel} (${extra}) on resnet18-mini features of a 96x64 image`, () => {
      const backbone = createBackbone('resnet18-mini');
      const fpn = createFpn({ inChannels: backbone.outChannels, outChannels: 16, minLevel, maxLevel, extraConvs: extra });
      const images = tf.zeros([1, 96, 64, 3]) as tf.Tensor4D;
      const feats = backbone.forward(images);
      const outs = fpn.forward(feats);
      const levels = Array.from({ length: maxLevel - minLevel + 1 }, (_, i) => minLevel + i);
      expect(fpn.levels).toEqual(levels);
      expect(fpn.strides).toEqual(levels.map((l) => 2 ** l));
      expect(outs.map((o) => o.shape)).toEqual(levels.map((l) => [1, Math.ceil(96 / 2 ** l), Math.ceil(64 / 2 ** l), 16]));
      tf.dispose([images, ...feats, ...outs]);
      backbone.dispose();
      fpn.dispose();
    });
  }

  it('rejects bad options, naming them', () => {
    expect(() => createFpn({ inChannels: [8, 16], outChannels: 4 })).toThrow(/inChannels/);
    expect(() => createFpn({ inChannels: [8, 16, 32], outChannels: 4, maxLevel: 8 })).toThrow(/maxLevel/);
    expect(() => createFpn({ inChannels: [8, 16, 32], outChannels: 4, minLevel: 2 })).toThrow(/minLevel/);
    expect(() => createFpn({ inChannels: [8, 16, 32], outChannels: 4, extraConvs: 'on_top' as ExtraConvSource })).toThrow(/extraConvs/);
    expect(() => createFpn({ inChannels: [8, 16, 32], outChannels: 4, addExtraConvs: true } as never)).toThrow(/unknown option 'addExtraConvs'/);
    const fpn = createFpn({ inChannels: [8, 16, 32], outChannels: 4 });
    expect(() => fpn.forward([])).toThrow(/expected 3 features/);
    fpn.dispose();
  });

  it('trains end to end (gradients reach the lateral convs) without leaking', () => {
    const fpn = createFpn({ inChannels: [2, 3, 4], outChannels: 4, extraConvs: 'on_output', reluBeforeExtraConvs: true });
    const inputs = [arr4([1, 8, 8, 2], 1), arr4([1, 4, 4, 3], 2), arr4([1, 2, 2, 4], 3)].map(toTensor);
    const lateral = new Map(fpn.namedParameters()).get('lateral_convs.2.conv.weight')!;
    const before = Array.from(lateral.dataSync());
    const optimizer = tf.train.sgd(0.1);
    const counts: number[] = [];
    for (let i = 0; i < 3; i++) {
      optimizer.minimize(() => tf.tidy(() => tf.addN(fpn.forward(inputs).map((o) => tf.sum(tf.square(o)))) as tf.Scalar));
      counts.push(tf.memory().numTensors);
    }
    expect(new Set(counts).size).toBe(1);
    expect(Array.from(lateral.dataSync())).not.toEqual(before);
    optimizer.dispose();
    tf.dispose(inputs);
    fpn.dispose();
  });
});
