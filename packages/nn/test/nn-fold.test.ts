import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { BatchNorm2d, ConvModule, createBackbone, foldBatchNorms, loadStateDict, getStateTensors, type AnyModule } from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** A backbone whose BatchNorms are far from the identity (weights, biases and running stats). */
function backboneWithStatistics(seed: number) {
  const model = createBackbone({ preset: 'resnet10-mini', seed });
  let k = 0;
  for (const [name, v] of model.stateDict()) {
    if (/\.?(bn\d?|downsample\.1)\.(weight|bias|running_mean|running_var)$/.test(name)) {
      const [lo, hi] = name.endsWith('running_var') || name.endsWith('weight') ? [0.5, 2] : [-0.5, 0.5];
      v.assign(tf.randomUniform(v.shape, lo, hi, 'float32', seed * 1000 + k++));
    }
  }
  return model.eval();
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

describe('foldBatchNorms', () => {
  it('keeps the eval-mode outputs of a ResNet, drops every BatchNorm variable and gives each folded conv a bias', () => {
    const model = backboneWithStatistics(1);
    const images = tf.randomUniform([2, 64, 64, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
    const before = model.forward(images);
    const numNorms = model.namedModules().filter(([, m]) => m instanceof BatchNorm2d).length;
    const tensorsBefore = tf.memory().numTensors;

    expect(foldBatchNorms(model)).toBe(numNorms);
    // Four variables per BatchNorm gone, one bias per conv added, and the eval forward's cached
    // folded filter and bias per conv released.
    expect(tf.memory().numTensors).toBe(tensorsBefore - 4 * numNorms + numNorms - 2 * numNorms);
    const names = model.stateDict().map(([n]) => n);
    expect(names.filter((n) => /(^|\.)(bn\d?)\.|downsample\.1\./.test(n))).toEqual([]);
    expect(names).toContain('conv1.bias');
    expect(names).toContain('layer2.0.downsample.0.bias');
    expect(foldBatchNorms(model)).toBe(0);

    const after = model.forward(images);
    for (let i = 0; i < 3; i++) {
      const scale = tf.tidy(() => tf.max(tf.abs(before[i]!)).dataSync()[0]!);
      expect(scale).toBeGreaterThan(0.1);
      expect(maxAbsDiff(before[i]!, after[i]!) / scale, `C${i + 3}`).toBeLessThan(1e-5);
    }
    // Training mode too: a folded BatchNorm has no batch statistics to use.
    model.train(true);
    const trainingMode = model.forward(images);
    expect(maxAbsDiff(trainingMode[2], after[2])).toBe(0);
    tf.dispose([images, ...before, ...after, ...trainingMode]);
    model.dispose();
  });

  it('a folded state dict loads (strict) into a freshly built, folded model with the same outputs', () => {
    const source = backboneWithStatistics(2);
    foldBatchNorms(source);
    const target = createBackbone({ preset: 'resnet10-mini', seed: 3 });
    foldBatchNorms(target);
    expect(target.stateDict().map(([n, v]) => [n, v.shape])).toEqual(source.stateDict().map(([n, v]) => [n, v.shape]));
    expect(loadStateDict(target, getStateTensors(source)).missing).toEqual([]);
    target.eval();
    const images = tf.randomUniform([1, 32, 32, 3], 0, 1, 'float32', 9) as tf.Tensor4D;
    const a = source.forward(images);
    const b = target.forward(images);
    expect(maxAbsDiff(a[2], b[2])).toBe(0);
    tf.dispose([images, ...a, ...b]);
    source.dispose();
    target.dispose();
  });

  it('folds a ConvModule conv -> bn and leaves GroupNorm alone', () => {
    const rng = () => 0.25;
    const bn = new ConvModule({ inChannels: 3, outChannels: 4, kernelSize: 3, padding: 1, norm: { type: 'bn' }, relu: true, rng });
    const gn = new ConvModule({ inChannels: 3, outChannels: 4, kernelSize: 3, padding: 1, norm: { type: 'gn', numGroups: 2 }, rng });
    for (const [name, v] of bn.stateDict()) if (name.startsWith('bn.')) v.assign(tf.fill(v.shape, name.endsWith('var') ? 4 : 0.5));
    bn.eval();
    const x = tf.randomUniform([1, 5, 5, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    const before = bn.forward(x);
    expect(foldBatchNorms(bn as AnyModule)).toBe(1);
    expect(bn.stateDict().map(([n]) => n)).toEqual(['conv.weight', 'conv.bias']);
    const after = bn.forward(x);
    expect(maxAbsDiff(before, after)).toBeLessThan(1e-6);
    expect(foldBatchNorms(gn as AnyModule)).toBe(0);
    tf.dispose([x, before, after]);
    bn.dispose();
    gn.dispose();
  });
});
