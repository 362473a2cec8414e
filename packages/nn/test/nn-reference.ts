// Plain float64 reference implementations, written only for the tests (no tfjs involved).
import * as tf from '@tensorflow/tfjs-core';

export interface Arr4 {
  shape: [number, number, number, number];
  data: Float64Array;
}

/** Deterministic values in [-1, 1) from a xorshift generator (independent of the library's rng). */
export function testValues(count: number, seed: number): Float64Array {
  let s = seed >>> 0 || 1;
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    // Rounded to float32 so the reference sees exactly what the tensor holds.
    out[i] = Math.fround((s / 4294967296) * 2 - 1);
  }
  return out;
}

export function arr4(shape: [number, number, number, number], seed: number): Arr4 {
  return { shape, data: testValues(shape[0] * shape[1] * shape[2] * shape[3], seed) };
}

export function toTensor(a: Arr4): tf.Tensor4D {
  return tf.tensor4d(Float32Array.from(a.data), a.shape);
}

export async function fromTensor(t: tf.Tensor): Promise<Arr4> {
  const s = t.shape as [number, number, number, number];
  return { shape: s, data: Float64Array.from(await t.data()) };
}

const at = (a: Arr4, n: number, y: number, x: number, c: number) =>
  a.data[((n * a.shape[1] + y) * a.shape[2] + x) * a.shape[3] + c] as number;

/** torch conv2d semantics; `w` is HWIO [kh, kw, in, out] stored in an Arr4. */
export function conv2dRef(
  x: Arr4,
  w: Arr4,
  bias: Float64Array | null,
  stride: [number, number],
  pad: [number, number],
  dilation: [number, number] = [1, 1],
): Arr4 {
  const [n, h, wd, cin] = x.shape;
  const [kh, kw, wcin, cout] = w.shape;
  if (wcin !== cin) throw new Error('conv2dRef: channel mismatch');
  const oh = Math.floor((h + 2 * pad[0] - dilation[0] * (kh - 1) - 1) / stride[0]) + 1;
  const ow = Math.floor((wd + 2 * pad[1] - dilation[1] * (kw - 1) - 1) / stride[1]) + 1;
  const out: Arr4 = { shape: [n, oh, ow, cout], data: new Float64Array(n * oh * ow * cout) };
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++)
        for (let co = 0; co < cout; co++) {
          let sum = bias === null ? 0 : (bias[co] as number);
          for (let ky = 0; ky < kh; ky++) {
            const iy = oy * stride[0] - pad[0] + ky * dilation[0];
            if (iy < 0 || iy >= h) continue;
            for (let kx = 0; kx < kw; kx++) {
              const ix = ox * stride[1] - pad[1] + kx * dilation[1];
              if (ix < 0 || ix >= wd) continue;
              for (let ci = 0; ci < cin; ci++) sum += at(x, b, iy, ix, ci) * at(w, ky, kx, ci, co);
            }
          }
          out.data[((b * oh + oy) * ow + ox) * cout + co] = sum;
        }
  return out;
}

/** Per-channel mean and biased variance over N, H, W. */
export function channelMoments(x: Arr4): { mean: Float64Array; variance: Float64Array } {
  const c = x.shape[3];
  const count = x.data.length / c;
  const mean = new Float64Array(c);
  const variance = new Float64Array(c);
  x.data.forEach((v, i) => (mean[i % c] = (mean[i % c] as number) + v / count));
  x.data.forEach((v, i) => (variance[i % c] = (variance[i % c] as number) + (v - (mean[i % c] as number)) ** 2 / count));
  return { mean, variance };
}

/** y = (x - mean) / sqrt(var + eps) * gamma + beta, per channel. */
export function normalizeRef(x: Arr4, mean: Float64Array, variance: Float64Array, gamma: Float64Array, beta: Float64Array, eps: number): Arr4 {
  const c = x.shape[3];
  const data = x.data.map((v, i) => {
    const ch = i % c;
    return ((v - (mean[ch] as number)) / Math.sqrt((variance[ch] as number) + eps)) * (gamma[ch] as number) + (beta[ch] as number);
  });
  return { shape: x.shape, data };
}

export function groupNormRef(x: Arr4, groups: number, gamma: Float64Array, beta: Float64Array, eps: number): Arr4 {
  const [n, h, w, c] = x.shape;
  const per = c / groups;
  const out = new Float64Array(x.data.length);
  for (let b = 0; b < n; b++)
    for (let g = 0; g < groups; g++) {
      const values: number[] = [];
      const index: number[] = [];
      for (let y = 0; y < h; y++)
        for (let xx = 0; xx < w; xx++)
          for (let k = 0; k < per; k++) {
            const i = ((b * h + y) * w + xx) * c + g * per + k;
            values.push(x.data[i] as number);
            index.push(i);
          }
      const mean = values.reduce((s, v) => s + v, 0) / values.length;
      const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length;
      index.forEach((i, j) => {
        const ch = i % c;
        out[i] = (((values[j] as number) - mean) / Math.sqrt(variance + eps)) * (gamma[ch] as number) + (beta[ch] as number);
      });
    }
  return { shape: x.shape, data: out };
}

/** torch max_pool2d: padding never wins, floor output size. */
export function maxPoolRef(x: Arr4, k: number, stride: number, pad: number): Arr4 {
  const [n, h, w, c] = x.shape;
  const oh = Math.floor((h + 2 * pad - k) / stride) + 1;
  const ow = Math.floor((w + 2 * pad - k) / stride) + 1;
  const out: Arr4 = { shape: [n, oh, ow, c], data: new Float64Array(n * oh * ow * c) };
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++)
        for (let ch = 0; ch < c; ch++) {
          let best = -Infinity;
          for (let ky = 0; ky < k; ky++)
            for (let kx = 0; kx < k; kx++) {
              const iy = oy * stride - pad + ky;
              const ix = ox * stride - pad + kx;
              if (iy >= 0 && iy < h && ix >= 0 && ix < w) best = Math.max(best, at(x, b, iy, ix, ch));
            }
          out.data[((b * oh + oy) * ow + ox) * c + ch] = best;
        }
  return out;
}

/** torch F.interpolate(size=(oh, ow), mode='nearest'): src = floor(dst * in / out). */
export function upsampleNearestRef(x: Arr4, oh: number, ow: number): Arr4 {
  const [n, h, w, c] = x.shape;
  const out: Arr4 = { shape: [n, oh, ow, c], data: new Float64Array(n * oh * ow * c) };
  for (let b = 0; b < n; b++)
    for (let y = 0; y < oh; y++)
      for (let xx = 0; xx < ow; xx++)
        for (let ch = 0; ch < c; ch++) {
          const sy = Math.min(h - 1, Math.floor((y * h) / oh));
          const sx = Math.min(w - 1, Math.floor((xx * w) / ow));
          out.data[((b * oh + y) * ow + xx) * c + ch] = at(x, b, sy, sx, ch);
        }
  return out;
}

export function addRef(a: Arr4, b: Arr4): Arr4 {
  return { shape: a.shape, data: a.data.map((v, i) => v + (b.data[i] as number)) };
}

export function reluRef(a: Arr4): Arr4 {
  return { shape: a.shape, data: a.data.map((v) => Math.max(0, v)) };
}

/** Largest |a - b| (shapes must match). */
export function maxAbsDiff(a: Arr4, b: Arr4): number {
  if (a.shape.join() !== b.shape.join()) throw new Error(`shape mismatch [${a.shape}] vs [${b.shape}]`);
  let m = 0;
  a.data.forEach((v, i) => (m = Math.max(m, Math.abs(v - (b.data[i] as number)))));
  return m;
}

/** The variable's values as float64, with its shape padded to rank 4 on the left. */
export async function variableArr4(v: tf.Tensor): Promise<Arr4> {
  const shape = [1, 1, 1, 1, ...v.shape].slice(-4) as [number, number, number, number];
  return { shape, data: Float64Array.from(await v.data()) };
}

export async function vec(v: tf.Tensor): Promise<Float64Array> {
  return Float64Array.from(await v.data());
}
