import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { installTrainingKernels } from '@hpf/engine';
import { beforeAll, describe, expect, it } from 'vitest';
import { deformSampling } from '../src/index.js';

beforeAll(async () => {
  installTrainingKernels();
  await tf.setBackend('cpu');
});

function lcg(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Float64 reference of mmcv's bilinear sampling with zero padding (written for this test). */
function sample64(feat: number[], shape: number[], b: number, ch: number, py: number, px: number): number {
  const [, h, w, c] = shape as [number, number, number, number];
  if (py <= -1 || px <= -1 || py >= h || px >= w) return 0;
  const at = (yy: number, xx: number) => (yy >= 0 && yy < h && xx >= 0 && xx < w ? feat[((b * h + yy) * w + xx) * c + ch]! : 0);
  const y0 = Math.floor(py);
  const x0 = Math.floor(px);
  const ly = py - y0;
  const lx = px - x0;
  return (1 - ly) * (1 - lx) * at(y0, x0) + (1 - ly) * lx * at(y0, x0 + 1) + ly * (1 - lx) * at(y0 + 1, x0) + ly * lx * at(y0 + 1, x0 + 1);
}

const SHAPE = [2, 4, 5, 3] as const;

function inputs(seed: number, spread: number) {
  const rand = lcg(seed);
  const size = SHAPE.reduce((a, b) => a * b, 1);
  const feat = Array.from({ length: size }, () => rand() * 2 - 1);
  const offset = Array.from({ length: 2 * size }, () => (rand() * 2 - 1) * spread);
  return { feat, offset };
}

describe('deformSampling (bilinear sampling at per-channel offsets)', () => {
  it('equals the float64 reference, including points near and beyond the border', () => {
    const { feat, offset } = inputs(1, 3);
    const [n, h, w, c] = SHAPE;
    const out = deformSampling(tf.tensor4d(feat, [...SHAPE]), tf.tensor4d(offset, [n, h, w, 2 * c]));
    const got = out.dataSync();
    let k = 0;
    let outside = 0;
    for (let b = 0; b < n; b++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++)
          for (let ch = 0; ch < c; ch++, k++) {
            const py = y + offset[2 * k]!;
            const px = x + offset[2 * k + 1]!;
            if (py <= -1 || px <= -1 || py >= h || px >= w) outside++;
            expect(got[k]).toBeCloseTo(sample64(feat, [...SHAPE], b, ch, py, px), 5);
          }
    expect(outside).toBeGreaterThan(5); // the case exercises the zero padding
    out.dispose();
  });

  it('zero offsets are the identity; an offset of (1, 0) reads the next row', () => {
    const { feat } = inputs(2, 0);
    const [n, h, w, c] = SHAPE;
    const x = tf.tensor4d(feat, [...SHAPE]);
    const same = deformSampling(x, tf.zeros([n, h, w, 2 * c]) as tf.Tensor4D);
    expect(Array.from(same.dataSync())).toEqual(Array.from(x.dataSync()));
    const down = Array.from({ length: n * h * w * c }, () => [1, 0]).flat();
    const shifted = deformSampling(x, tf.tensor4d(down, [n, h, w, 2 * c])).arraySync();
    const orig = x.arraySync();
    expect(shifted[0]![1]![2]![1]).toBeCloseTo(orig[0]![2]![2]![1]!, 6);
    expect(shifted[1]![h - 1]![0]![0]).toBe(0); // beyond the last row
    tf.dispose([x, same]);
  });

  it('gradients with respect to the features and the offsets match central finite differences', () => {
    // offsets within +-0.45 of a cell plus a fixed fractional shift: no sample sits on an integer
    // (where the bilinear weights have a kink), so finite differences are valid.
    const { feat, offset } = inputs(3, 0.4);
    const shifted = offset.map((v) => v + 0.27);
    const [n, h, w, c] = SHAPE;
    const probe = Array.from({ length: n * h * w * c }, (_, i) => Math.sin(i + 1));
    const f = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(deformSampling(a as tf.Tensor4D, b as tf.Tensor4D), tf.tensor4d(probe, [...SHAPE])));
    const [gFeat, gOff] = tf.grads(f)([tf.tensor4d(feat, [...SHAPE]), tf.tensor4d(shifted, [n, h, w, 2 * c])]);
    const value = (fe: number[], of: number[]) => {
      let s = 0;
      let k = 0;
      for (let b = 0; b < n; b++)
        for (let y = 0; y < h; y++)
          for (let x = 0; x < w; x++)
            for (let ch = 0; ch < c; ch++, k++) s += probe[k]! * sample64(fe, [...SHAPE], b, ch, y + of[2 * k]!, x + of[2 * k + 1]!);
      return s;
    };
    const eps = 1e-4;
    const gf = gFeat!.dataSync();
    const go = gOff!.dataSync();
    for (const i of [0, 7, 31, 64, 100, 119]) {
      const plus = feat.slice();
      const minus = feat.slice();
      plus[i]! += eps;
      minus[i]! -= eps;
      expect(gf[i]).toBeCloseTo((value(plus, shifted) - value(minus, shifted)) / (2 * eps), 3);
    }
    for (const i of [0, 1, 15, 40, 77, 150, 239]) {
      const plus = shifted.slice();
      const minus = shifted.slice();
      plus[i]! += eps;
      minus[i]! -= eps;
      expect(go[i]).toBeCloseTo((value(feat, plus) - value(feat, minus)) / (2 * eps), 3);
    }
    tf.dispose([gFeat!, gOff!]);
  });

  it('rejects an offset of the wrong shape', () => {
    expect(() => deformSampling(tf.zeros([1, 2, 2, 4]) as tf.Tensor4D, tf.zeros([1, 2, 2, 4]) as tf.Tensor4D)).toThrow(/offset must be \[1, 2, 2, 8\]/);
  });
});
