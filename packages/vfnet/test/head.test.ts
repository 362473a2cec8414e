import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { createVfnet, scaleGradient, starOffsets } from '../src/index.js';
import { installTrainingKernels } from '@hpf/engine';

// The gradients computeLoss needs under tf.variableGrads (the trainer's set-up).
installTrainingKernels();

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('starOffsets', () => {
  it('makes kernel point (ky, kx) sample the box point ({top, centre, bottom}, {left, centre, right})', () => {
    // Sides (l, t, r, b) = (1.5, 0.5, 2, 3) cells at output (i, j): kernel point (ky, kx) samples
    // (i - 1 + ky + dy, j - 1 + kx + dx), which must be (i + {-t, 0, b}[ky], j + {-l, 0, r}[kx]).
    const sides = [1.5, 0.5, 2, 3];
    const offsets = starOffsets(tf.tensor4d(sides, [1, 1, 1, 4])).dataSync();
    const rows = [-0.5, 0, 3];
    const cols = [-1.5, 0, 2];
    for (let ky = 0; ky < 3; ky++) {
      for (let kx = 0; kx < 3; kx++) {
        const k = 3 * ky + kx;
        expect(-1 + ky + offsets[2 * k]!).toBeCloseTo(rows[ky]!, 6);
        expect(-1 + kx + offsets[2 * k + 1]!).toBeCloseTo(cols[kx]!, 6);
      }
    }
  });
});

describe('scaleGradient', () => {
  it('is the identity forward and multiplies the gradient (0 = detach)', () => {
    const x = tf.tensor1d([1, -2, 3]);
    expect(Array.from(scaleGradient(x, 0.1).dataSync())).toEqual([1, -2, 3]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.square(scaleGradient(t, 0.1))))(x).dataSync();
    Array.from(g).forEach((v, i) => expect(v).toBeCloseTo(0.1 * 2 * [1, -2, 3][i]!, 6));
    const z = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(scaleGradient(t, 0), t)))(x).dataSync();
    Array.from(z).forEach((v, i) => expect(v).toBeCloseTo([1, -2, 3][i]!, 6)); // d/dt of stop(t) * t = stop(t)
  });
});

describe('VfnetHead', () => {
  it('outputs per level C logits and 8 box channels (initial, refined sides) near regDenom at initialisation', () => {
    const det = createVfnet({ numClasses: 3, backbone: 'resnet10-mini', neckChannels: 32, featChannels: 32, stackedConvs: 1, regDenoms: [8, 16, 32, 64, 128] });
    const images = tf.randomUniform([1, 64, 64, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
    const out = det.model.forward(images);
    expect(out.cls.map((t) => t.shape)).toEqual([8, 4, 2, 1, 1].map((s) => [1, s, s, 3]));
    expect(out.reg.map((t) => t.shape)).toEqual([8, 4, 2, 1, 1].map((s) => [1, s, s, 8]));
    expect(out.centerness).toEqual([]);
    // At initialisation the reg convs output small values (std .01 weights, Scale 1): initial sides
    // within a factor 2 of regDenom, refined sides within a factor 2 of the initial ones.
    out.reg.forEach((t, l) => {
      const v = t.dataSync();
      for (let i = 0; i < v.length; i += 8) {
        for (let j = 0; j < 4; j++) {
          expect(v[i + j]! / [8, 16, 32, 64, 128][l]!).toBeGreaterThan(0.5);
          expect(v[i + j]! / [8, 16, 32, 64, 128][l]!).toBeLessThan(2);
          expect(v[i + 4 + j]! / v[i + j]!).toBeGreaterThan(0.5);
          expect(v[i + 4 + j]! / v[i + j]!).toBeLessThan(2);
        }
      }
    });
    const names = det.model.head.namedParameters().map(([n]) => n);
    for (const n of ['vfnet_reg_conv.conv.weight', 'vfnet_reg.weight', 'scales.0.scale', 'vfnet_reg_refine_dconv.weight', 'vfnet_reg_refine.weight', 'scales_refine.4.scale', 'vfnet_cls_dconv.weight', 'vfnet_cls.bias']) {
      expect(names).toContain(n);
    }
    tf.dispose([...out.cls, ...out.reg, images]);
    det.dispose();
  });
});
