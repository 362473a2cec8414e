import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { DeltaXYWHCoder, DistanceCoder } from '../src/index.js';
import { loadFixture, randomBoxes, rng, type Box64 } from './fixtures/geometry/reference.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

type V4 = [number, number, number, number];

// mmdetection's bbox2delta / delta2bbox, transcribed as float64 formulas for the test.
function encode64(p: Box64, g: Box64, means: V4, stds: V4): V4 {
  const [px, py, pw, ph] = [(p[0] + p[2]) / 2, (p[1] + p[3]) / 2, p[2] - p[0], p[3] - p[1]];
  const [gx, gy, gw, gh] = [(g[0] + g[2]) / 2, (g[1] + g[3]) / 2, g[2] - g[0], g[3] - g[1]];
  const d = [(gx - px) / pw, (gy - py) / ph, Math.log(gw / pw), Math.log(gh / ph)];
  return d.map((v, i) => (v - means[i]!) / stds[i]!) as V4;
}

interface DecodeOpts {
  means?: V4;
  stds?: V4;
  ctrClamp?: number;
  maxShape?: [number, number];
}
function decode64(p: Box64, delta: V4, o: DecodeOpts = {}): V4 {
  const means = o.means ?? [0, 0, 0, 0];
  const stds = o.stds ?? [1, 1, 1, 1];
  const d = delta.map((v, i) => v * stds[i]! + means[i]!);
  const maxRatio = Math.abs(Math.log(16 / 1000));
  const [px, py, pw, ph] = [(p[0] + p[2]) / 2, (p[1] + p[3]) / 2, p[2] - p[0], p[3] - p[1]];
  let sx = pw * d[0]!;
  let sy = ph * d[1]!;
  let dw: number;
  let dh: number;
  if (o.ctrClamp !== undefined) {
    sx = Math.min(Math.max(sx, -o.ctrClamp), o.ctrClamp);
    sy = Math.min(Math.max(sy, -o.ctrClamp), o.ctrClamp);
    dw = Math.min(d[2]!, maxRatio);
    dh = Math.min(d[3]!, maxRatio);
  } else {
    dw = Math.min(Math.max(d[2]!, -maxRatio), maxRatio);
    dh = Math.min(Math.max(d[3]!, -maxRatio), maxRatio);
  }
  const [cx, cy, w, h] = [px + sx, py + sy, pw * Math.exp(dw), ph * Math.exp(dh)];
  const box: V4 = [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2];
  if (o.maxShape) {
    const [H, W] = o.maxShape;
    return box.map((v, i) => Math.min(Math.max(v, 0), i % 2 === 0 ? W : H)) as V4;
  }
  return box;
}

async function read(t: tf.Tensor): Promise<number[]> {
  const v = Array.from(await t.data());
  t.dispose();
  return v;
}

function expectClose(got: number[], want: number[], digits: number): void {
  expect(got).toHaveLength(want.length);
  want.forEach((v, i) => expect(got[i]).toBeCloseTo(v, digits));
}

describe('DeltaXYWHCoder', () => {
  const rand = rng(42);
  const priors = randomBoxes(rand, 16, 100, 60);
  const gts = randomBoxes(rand, 16, 100, 60);
  const means: V4 = [0.1, -0.2, 0.05, 0];
  const stds: V4 = [0.1, 0.1, 0.2, 0.2];

  it('encodes like mmdetection bbox2delta (means/stds) in float64', async () => {
    const coder = new DeltaXYWHCoder({ means, stds });
    const got = await read(coder.encode(tf.tensor2d(priors), tf.tensor2d(gts)));
    expectClose(got, priors.flatMap((p, i) => encode64(p, gts[i]!, means, stds)), 3);
  });

  it('decode(encode(g)) returns g', async () => {
    const coder = new DeltaXYWHCoder({ means, stds });
    const p = tf.tensor2d(priors);
    const deltas = coder.encode(p, tf.tensor2d(gts));
    expectClose(await read(coder.decode(p, deltas)), gts.flat(), 3);
  });

  it('decodes like mmdetection delta2bbox, clamping |dw|, |dh| at log(1000/16) and clipping to maxShape', async () => {
    const deltas: V4[] = priors.map(() => [rand() * 2 - 1, rand() * 2 - 1, rand() * 4 - 2, rand() * 4 - 2]);
    deltas[0] = [0.5, -0.5, 9, -9]; // beyond the clamp in both directions
    deltas[1] = [3, -3, -5, 5];
    const coder = new DeltaXYWHCoder({ means, stds: [1, 1, 1, 1] });
    const p = tf.tensor2d(priors);
    const got = await read(coder.decode(p, tf.tensor2d(deltas)));
    expectClose(got, priors.flatMap((b, i) => decode64(b, deltas[i]!, { means })), 2);
    const clipped = await read(coder.decode(p, tf.tensor2d(deltas), [80, 120]));
    expectClose(clipped, priors.flatMap((b, i) => decode64(b, deltas[i]!, { means, maxShape: [80, 120] })), 2);
    // Clamp value itself: dw = 9 becomes log(1000/16), so the width grows by exactly 62.5.
    const w0 = got[2]! - got[0]!;
    expect(w0 / (priors[0]![2] - priors[0]![0])).toBeCloseTo(62.5, 2);
  });

  it('supports add_ctr_clamp: centre shift within +-ctrClamp px, dw/dh clamped only from above', async () => {
    const coder = new DeltaXYWHCoder({ addCtrClamp: true, ctrClamp: 10 });
    const deltas: V4[] = priors.map(() => [rand() * 4 - 2, rand() * 4 - 2, rand() * 12 - 8, rand() * 12 - 2]);
    const got = await read(coder.decode(tf.tensor2d(priors), tf.tensor2d(deltas)));
    expectClose(got, priors.flatMap((b, i) => decode64(b, deltas[i]!, { ctrClamp: 10 })), 2);
  });

  it('broadcasts priors [N, 4] against deltas [B, N, 4]', async () => {
    const coder = new DeltaXYWHCoder();
    const deltas: V4[][] = [0, 1].map(() => priors.map(() => [rand() - 0.5, rand() - 0.5, rand() - 0.5, rand() - 0.5] as V4));
    const out = coder.decode(tf.tensor2d(priors), tf.tensor3d(deltas));
    expect(out.shape).toEqual([2, 16, 4]);
    expectClose(await read(out), deltas.flatMap((batch) => priors.flatMap((b, i) => decode64(b, batch[i]!))), 3);
  });

  it('matches torchvision BoxCoder (weights 1,1,1,1 and 10,10,5,5)', async () => {
    type CoderCase = { weights: number[]; encoded: number[][]; deltas: number[][]; decoded: number[][] };
    type CoderFixture = { priors: number[][]; gts: number[][]; bbox_xform_clip: number; unit: CoderCase; rcnn: CoderCase };
    const fx = loadFixture<{ box_coder: CoderFixture }>('geometry.json').box_coder;
    expect(new DeltaXYWHCoder().maxRatio).toBeCloseTo(fx.bbox_xform_clip, 12);
    for (const name of ['unit', 'rcnn'] as const) {
      const c = fx[name];
      const coder = new DeltaXYWHCoder({ stds: c.weights.map((w) => 1 / w) as [number, number, number, number] });
      const p = tf.tensor2d(fx.priors);
      expectClose(await read(coder.encode(p, tf.tensor2d(fx.gts))), c.encoded.flat(), 3);
      expectClose(await read(coder.decode(p, tf.tensor2d(c.deltas))), c.decoded.flat(), 2);
      p.dispose();
    }
  });

  it('encodes a zero-width target as dw = -Infinity (as mmdetection), which decode clamps', async () => {
    const coder = new DeltaXYWHCoder();
    const p = tf.tensor2d([[0, 0, 10, 10]]);
    const d = coder.encode(p, tf.tensor2d([[5, 0, 5, 10]]));
    const enc = await d.data();
    expect(enc[2]).toBe(-Infinity);
    expect(enc[3]).toBe(0);
    const dec = await read(coder.decode(p, d));
    expectClose(dec, [5 - 5 * (16 / 1000), 0, 5 + 5 * (16 / 1000), 10], 5);
    tf.dispose([p, d]);
  });

  it('validates options and shapes', () => {
    expect(() => new DeltaXYWHCoder({ std: [1, 1, 1, 1] } as never)).toThrow(/unknown option 'std'/);
    expect(() => new DeltaXYWHCoder({ stds: [1, 1, 0, 1] })).toThrow(/stds\[2\]/);
    expect(() => new DeltaXYWHCoder({ means: [0, 0] as never })).toThrow(/means/);
    expect(() => new DeltaXYWHCoder().decode(tf.zeros([3, 4]), tf.zeros([3, 5]))).toThrow(/deltas must have shape \[\.\.\., 4\]/);
  });

  it('does not leak tensors', () => {
    const coder = new DeltaXYWHCoder({ means, stds, addCtrClamp: true });
    const p = tf.tensor2d(priors);
    const g = tf.tensor2d(gts);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) tf.dispose([coder.encode(p, g), coder.decode(p, g, [50, 50])]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([p, g]);
  });
});

describe('DistanceCoder', () => {
  const rand = rng(17);
  const boxes = randomBoxes(rand, 10, 100, 50);
  // One point inside each box, and one outside (negative distance) at the end.
  const points = boxes.map((b) => [b[0] + (b[2] - b[0]) * 0.3, b[1] + (b[3] - b[1]) * 0.6]);
  points[9] = [boxes[9]![0] - 5, boxes[9]![1] + 1];
  const ltrb64 = (p: number[], b: Box64) => [p[0]! - b[0], p[1]! - b[1], b[2] - p[0]!, b[3] - p[1]!];

  it('encodes (left, top, right, bottom) distances and decodes them back', async () => {
    const coder = new DistanceCoder();
    const pts = tf.tensor2d(points);
    const enc = coder.encode(pts, tf.tensor2d(boxes));
    expectClose(await read(enc.clone()), points.flatMap((p, i) => ltrb64(p, boxes[i]!)), 3);
    expectClose(await read(coder.decode(pts, enc)), boxes.flat(), 3);
    enc.dispose();
  });

  it('normalises by stride (number or per-prior tensor) and clamps to maxDistance - eps', async () => {
    const coder = new DistanceCoder();
    const strides = points.map((_, i) => [8, 16, 32][i % 3]!);
    const pts = tf.tensor2d(points);
    const enc = coder.encode(pts, tf.tensor2d(boxes), { stride: tf.tensor1d(strides), maxDistance: 4, eps: 0.1 });
    const want = points.flatMap((p, i) => ltrb64(p, boxes[i]!).map((d) => Math.min(Math.max(d / strides[i]!, 0), 3.9)));
    expectClose(await read(enc), want, 4);
    const byNumber = coder.encode(pts, tf.tensor2d(boxes), { stride: 8 });
    expectClose(await read(byNumber), points.flatMap((p, i) => ltrb64(p, boxes[i]!).map((d) => d / 8)), 4);
    const dist = tf.tensor2d(points.map(() => [1, 2, 3, 0.5]));
    const dec = await read(coder.decode(pts, dist, { stride: tf.tensor1d(strides) }));
    expectClose(dec, points.flatMap((p, i) => [p[0]! - strides[i]!, p[1]! - 2 * strides[i]!, p[0]! + 3 * strides[i]!, p[1]! + 0.5 * strides[i]!]), 3);
  });

  it('clips decoded boxes to maxShape unless clipBorder is false, and reads x, y of withStride points', async () => {
    const pts = tf.tensor2d([[4, 4, 8, 8]]);
    const dist = tf.tensor2d([[10, 1, 100, 50]]);
    expect(await read(new DistanceCoder().decode(pts, dist, { maxShape: [30, 60] }))).toEqual([0, 3, 60, 30]);
    expect(await read(new DistanceCoder({ clipBorder: false }).decode(pts, dist, { maxShape: [30, 60] }))).toEqual([-6, 3, 104, 54]);
    expect(() => new DistanceCoder().decode(tf.zeros([1, 3]), dist)).toThrow(/points must have shape/);
    expect(() => new DistanceCoder().encode(pts, dist, { maxDist: 3 } as never)).toThrow(/unknown option 'maxDist'/);
  });
});
