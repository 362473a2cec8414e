import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import {
  BatchNorm2d,
  Conv2d,
  Module,
  ModuleList,
  Scale,
  biasInitWithProb,
  computeFans,
  createHeadConv,
  createRng,
  initWeight,
  toRng,
} from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

class Block extends Module<tf.Tensor4D, tf.Tensor4D> {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  constructor(seed: number) {
    super();
    this.conv1 = this.registerModule('conv1', new Conv2d({ inChannels: 2, outChannels: 4, kernelSize: 3, bias: false, rng: createRng(seed) }));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(4));
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.bn1.forward(this.conv1.forward(x)));
  }
}

class Net extends Module<tf.Tensor4D, tf.Tensor4D> {
  readonly stem: Conv2d;
  readonly layer1: ModuleList<tf.Tensor4D, tf.Tensor4D>;
  readonly gain: Scale;
  constructor() {
    super();
    this.stem = this.registerModule('stem', new Conv2d({ inChannels: 3, outChannels: 2, kernelSize: 1, rng: createRng(1) }));
    this.layer1 = this.registerModule('layer1', new ModuleList([new Block(2), new Block(3)]));
    this.gain = this.registerModule('gain', new Scale(1));
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.gain.forward(this.layer1.at(0).forward(this.stem.forward(x))) as tf.Tensor4D);
  }
}

describe('Module', () => {
  it('names parameters, buffers and state like torch (dotted, registration order)', () => {
    const net = new Net();
    expect(net.namedParameters().map(([n]) => n)).toEqual([
      'stem.weight',
      'stem.bias',
      'layer1.0.conv1.weight',
      'layer1.0.bn1.weight',
      'layer1.0.bn1.bias',
      'layer1.1.conv1.weight',
      'layer1.1.bn1.weight',
      'layer1.1.bn1.bias',
      'gain.scale',
    ]);
    expect(net.namedBuffers().map(([n]) => n)).toEqual([
      'layer1.0.bn1.running_mean',
      'layer1.0.bn1.running_var',
      'layer1.1.bn1.running_mean',
      'layer1.1.bn1.running_var',
    ]);
    expect(net.stateDict().map(([n]) => n)).toContain('layer1.0.bn1.running_var');
    expect(net.stateDict()).toHaveLength(13);
    expect(net.namedModules().map(([n]) => n)).toEqual(['', 'stem', 'layer1', 'layer1.0', 'layer1.0.conv1', 'layer1.0.bn1', 'layer1.1', 'layer1.1.conv1', 'layer1.1.bn1', 'gain']);
    // 3*2+2 + 2*(3*3*2*4 + 4 + 4) + 1
    expect(net.numParameters()).toBe(8 + 2 * 80 + 1);
    net.dispose();
  });

  it('freeze/unfreeze toggles trainability of a subtree; buffers are never trainable', () => {
    const net = new Net();
    expect(net.trainableVariables()).toHaveLength(9);
    net.layer1.at(0).freeze();
    expect(net.layer1.at(0).frozen).toBe(true);
    expect((net.layer1.at(0) as Block).bn1.frozen).toBe(true);
    expect(net.trainableVariables()).toHaveLength(6);
    expect(net.namedBuffers().every(([, v]) => !v.trainable)).toBe(true);
    net.freeze();
    expect(net.trainableVariables()).toHaveLength(0);
    net.unfreeze();
    expect(net.trainableVariables()).toHaveLength(9);
    net.dispose();
  });

  it('train()/eval() propagate to every descendant', () => {
    const net = new Net();
    net.eval();
    expect(net.namedModules().every(([, m]) => !m.training)).toBe(true);
    net.train();
    expect(net.namedModules().every(([, m]) => m.training)).toBe(true);
    net.dispose();
  });

  it('rejects duplicate and dotted names', () => {
    class Bad extends Module<tf.Tensor, tf.Tensor> {
      constructor(name: string, twice: boolean) {
        super();
        this.registerModule(name, new Scale());
        if (twice) this.registerParameter(name, tf.scalar(1));
      }
      forward(x: tf.Tensor): tf.Tensor {
        return x;
      }
    }
    expect(() => new Bad('a.b', false)).toThrow(/invalid name 'a.b'/);
    expect(() => new Bad('w', true)).toThrow(/name 'w' is already registered/);
  });

  it('dispose releases every variable; repeated forward does not leak', () => {
    const start = tf.memory().numTensors;
    const net = new Net();
    expect(tf.memory().numTensors).toBe(start + 13);
    const x = tf.ones([2, 5, 5, 3]) as tf.Tensor4D;
    const counts: number[] = [];
    for (let i = 0; i < 3; i++) {
      tf.dispose(net.forward(x));
      counts.push(tf.memory().numTensors);
    }
    expect(new Set(counts).size).toBe(1);
    x.dispose();
    net.dispose();
    expect(tf.memory().numTensors).toBe(start);
    expect(() => net.call(x)).toThrow(/was disposed/);
  });
});

describe('initialisation', () => {
  const std = (v: Float32Array) => {
    const mean = v.reduce((s, x) => s + x, 0) / v.length;
    return Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / v.length);
  };

  it('prior-probability bias: -log((1 - p) / p), p = 0.01 gives -ln 99', () => {
    expect(biasInitWithProb(0.01)).toBeCloseTo(-4.59511985013459, 12);
    expect(biasInitWithProb(0.5)).toBe(-0);
    expect(() => biasInitWithProb(0)).toThrow(/priorProb/);
    const conv = createHeadConv({ inChannels: 64, outChannels: 10, priorProb: 0.01, rng: createRng(5) });
    const bias = conv.bias?.dataSync() as Float32Array;
    expect(Array.from(bias)).toEqual(new Array(10).fill(Math.fround(-Math.log(99))));
    // N(0, 0.01^2) weights: 3*3*64*10 = 5760 samples, sample std within 5 %.
    expect(std(conv.weight.dataSync() as Float32Array)).toBeGreaterThan(0.0095);
    expect(std(conv.weight.dataSync() as Float32Array)).toBeLessThan(0.0105);
    conv.dispose();
  });

  it('fans of an HWIO weight equal torch fans of the OIHW weight', () => {
    expect(computeFans([3, 3, 16, 32])).toEqual({ fanIn: 144, fanOut: 288 });
  });

  it('kaiming normal (fan_out) and xavier/torch-default uniform have the documented spread', () => {
    const rng = createRng(9);
    const k = initWeight([3, 3, 64, 128], { kind: 'kaimingNormal', mode: 'fan_out' }, rng);
    expect(std(k.dataSync() as Float32Array) / Math.sqrt(2 / (128 * 9))).toBeCloseTo(1, 1);
    const x = initWeight([3, 3, 64, 128], { kind: 'xavierUniform' }, rng);
    const bound = Math.sqrt(6 / (64 * 9 + 128 * 9));
    const xv = x.dataSync() as Float32Array;
    expect(Math.max(...xv)).toBeLessThanOrEqual(bound);
    expect(Math.max(...xv)).toBeGreaterThan(bound * 0.99);
    expect(std(xv) / (bound / Math.sqrt(3))).toBeCloseTo(1, 1);
    const t = initWeight([1, 1, 100, 10], { kind: 'torchDefault' }, rng);
    expect(Math.max(...(t.dataSync() as Float32Array))).toBeLessThanOrEqual(0.1);
    tf.dispose([k, x, t]);
  });

  it('is deterministic from a seed, and a different seed differs', () => {
    const a = initWeight([4, 4], { kind: 'normal', std: 1 }, createRng(42)).dataSync();
    const b = initWeight([4, 4], { kind: 'normal', std: 1 }, toRng(42)).dataSync();
    const c = initWeight([4, 4], { kind: 'normal', std: 1 }, createRng(43)).dataSync();
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
    expect(() => createRng(-1)).toThrow(/seed/);
    // A custom rng function is used as is.
    let calls = 0;
    initWeight([2, 2], { kind: 'xavierUniform' }, () => (calls++, 0.5));
    expect(calls).toBe(4);
  });

  it("accepts an object with uniform() (e.g. @hpf/engine's Rng) as the rng", () => {
    const fn = createRng(77);
    const source = createRng(77);
    const a = new Conv2d({ inChannels: 2, outChannels: 3, kernelSize: 3, rng: fn });
    const b = new Conv2d({ inChannels: 2, outChannels: 3, kernelSize: 3, rng: { uniform: () => source() } });
    expect(Array.from(b.weight.dataSync())).toEqual(Array.from(a.weight.dataSync()));
    expect(Array.from(b.bias!.dataSync())).toEqual(Array.from(a.bias!.dataSync()));
    expect(() => new Conv2d({ inChannels: 2, outChannels: 3, kernelSize: 3, rng: 5 as never })).toThrow(/option 'rng' must be/);
    a.dispose();
    b.dispose();
  });

  it('uniform rng has mean 1/2 and variance 1/12', () => {
    const rng = createRng(123);
    const n = 20000;
    let s = 0;
    let s2 = 0;
    let lo = 1;
    let hi = 0;
    for (let i = 0; i < n; i++) {
      const u = rng();
      lo = Math.min(lo, u);
      hi = Math.max(hi, u);
      s += u;
      s2 += u * u;
    }
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThan(1);
    expect(s / n).toBeCloseTo(0.5, 2);
    expect(s2 / n - (s / n) ** 2).toBeCloseTo(1 / 12, 2);
  });
});
