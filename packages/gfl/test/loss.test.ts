import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { ProgressiveFocus, resolveHpfOptions } from '@hpf/loss';
import { createAnchorGenerator, type DetectorTarget } from '@hpf/fpn';
import { createGfl, gflLoss, integralDistances } from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const SMALL = { numClasses: 3, backbone: 'resnet10-mini', neckChannels: 32, featChannels: 32, stackedConvs: 1, seed: 7, regMax: 8 } as const;

function lcg(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function batch() {
  const rand = lcg(3);
  const images = tf.tensor4d(Float32Array.from({ length: 2 * 64 * 64 * 3 }, () => rand()), [2, 64, 64, 3]);
  const targets: DetectorTarget[] = [
    { boxes: new Float32Array([4, 6, 30, 40, 30, 30, 60, 58]), labels: new Int32Array([0, 2]), ignoreBoxes: new Float32Array(0) },
    { boxes: new Float32Array([10, 12, 22, 20]), labels: new Int32Array([1]), ignoreBoxes: new Float32Array(0) },
  ];
  return { images, targets };
}

const values = (out: { total: tf.Scalar; losses: Record<string, tf.Scalar> }) =>
  [out.total, out.losses.loss_cls!, out.losses.loss_bbox!, out.losses.loss_dfl!].map((t) => t.dataSync()[0]!);

describe('GFL loss', () => {
  it('hpf { delta: 0 } gives the same loss as hpf: false (1e-6)', () => {
    const { images, targets } = batch();
    const totals: number[][] = [];
    for (const hpf of [false, { delta: 0 }] as const) {
      const det = createGfl({ ...SMALL, octaveBaseScale: 2, hpf });
      const out = det.computeLoss(images, targets);
      totals.push(values(out));
      expect(out.stats.numPositives).toBeGreaterThan(0);
      tf.dispose([out.total, ...Object.values(out.losses)]);
      det.dispose();
    }
    totals[0]!.forEach((v, i) => expect(Math.abs(v - totals[1]![i]!)).toBeLessThan(1e-6));
    images.dispose();
  });

  it('hpf: true changes only the classification term and moves beta per level (no alpha)', () => {
    const { images, targets } = batch();
    const off = createGfl({ ...SMALL, octaveBaseScale: 2, hpf: false });
    const on = createGfl({ ...SMALL, octaveBaseScale: 2, hpf: true });
    const a = off.computeLoss(images, targets);
    const b = on.computeLoss(images, targets);
    expect(b.losses.loss_bbox!.dataSync()[0]).toBeCloseTo(a.losses.loss_bbox!.dataSync()[0]!, 6);
    expect(b.losses.loss_dfl!.dataSync()[0]).toBeCloseTo(a.losses.loss_dfl!.dataSync()[0]!, 6);
    expect(b.stats.levels).toHaveLength(5);
    expect(b.stats.levels.reduce((s, l) => s + l.numPositives, 0)).toBe(b.stats.numPositives);
    for (const level of b.stats.levels) {
      expect(level.gamma).toBeGreaterThanOrEqual(1.5);
      expect(level.gamma).toBeLessThanOrEqual(2.5);
      expect(level.alpha).toBeNull();
      if (level.numPositives > 0) expect(level.gamma).toBeCloseTo(Math.min(Math.max(level.statistic!, 1.5), 2.5), 12);
      else expect(level.gamma).toBe(2);
    }
    // At initialisation every positive's logit is about -4.6 (prior 0.01): s_l > 2.5, beta_l = 2.5.
    expect(b.stats.levels.filter((l) => l.numPositives > 0).every((l) => l.gamma === 2.5)).toBe(true);
    expect(b.losses.loss_cls!.dataSync()[0]).not.toBeCloseTo(a.losses.loss_cls!.dataSync()[0]!, 6);
    for (const level of a.stats.levels) expect([level.gamma, level.alpha]).toEqual([2, null]);
    const sum = Object.values(b.losses).reduce((s, t) => s + t.dataSync()[0]!, 0);
    expect(b.total.dataSync()[0]).toBeCloseTo(sum, 5);
    tf.dispose([a.total, b.total, ...Object.values(a.losses), ...Object.values(b.losses), images]);
    off.dispose();
    on.dispose();
  });

  // Head variables only: conv filter gradients of the whole network take minutes on the cpu backend
  // (the overfit test trains every variable on wasm).
  it('runs under tf.variableGrads with finite gradients and no leaked tensors', () => {
    const { images, targets } = batch();
    const det = createGfl({ ...SMALL, octaveBaseScale: 2, hpf: true });
    const counts: number[] = [];
    for (let i = 0; i < 2; i++) {
      const { value, grads } = tf.variableGrads(() => det.computeLoss(images, targets).total, det.model.head.trainableVariables());
      expect(Object.keys(grads).length).toBe(det.model.head.trainableVariables().length);
      const norms = tf.tidy(() => Object.values(grads).map((g) => tf.sum(tf.abs(g)).dataSync()[0]!));
      for (const n of norms) expect(Number.isFinite(n)).toBe(true);
      expect(Math.max(...norms)).toBeGreaterThan(0);
      tf.dispose([value, ...Object.values(grads)]);
      counts.push(tf.memory().numTensors);
    }
    expect(counts[1]).toBe(counts[0]);
    det.dispose();
    images.dispose();
  });

  it('an image batch without boxes gives zero box terms and a finite classification loss', () => {
    const det = createGfl({ ...SMALL, octaveBaseScale: 2 });
    const images = tf.zeros([1, 64, 64, 3]) as tf.Tensor4D;
    const out = det.computeLoss(images, [{ boxes: new Float32Array(0), labels: new Int32Array(0), ignoreBoxes: new Float32Array(0) }]);
    const [, cls, bbox, dfl] = values(out);
    expect(out.stats.numPositives).toBe(0);
    expect([bbox, dfl]).toEqual([0, 0]);
    expect(cls).toBeGreaterThan(0);
    tf.dispose([out.total, ...Object.values(out.losses), images]);
    det.dispose();
  });

  it('rejects unknown options and bad targets with clear errors', () => {
    expect(() => createGfl({ ...SMALL, regmax: 16 } as never)).toThrow(/unknown option 'regmax'/);
    expect(() => createGfl({ ...SMALL, regMax: 0 })).toThrow(/regMax/);
    expect(() => createGfl({ ...SMALL, topk: 0 })).toThrow(/topk/);
    expect(() => createGfl({ ...SMALL, octaveBaseScale: -1 })).toThrow(/octaveBaseScale/);
    expect(() => createGfl({ ...SMALL, hpf: { gama0: 2 } as never })).toThrow(/gama0/);
    const det = createGfl(SMALL);
    const images = tf.zeros([1, 64, 64, 3]) as tf.Tensor4D;
    expect(() => det.computeLoss(images, [{ boxes: new Float32Array([0, 0, 4, 4]), labels: new Int32Array([3]), ignoreBoxes: new Float32Array(0) }])).toThrow(/targets\[0\]\.labels\[0\] = 3/);
    images.dispose();
    det.dispose();
  });
});

// ---- float64 references ----
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
function softmax(z: number[]): number[] {
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}
const expectation = (z: number[]) => softmax(z).reduce((s, p, i) => s + i * p, 0);
function qfl64(z: number, y: number, beta = 2): number {
  const p = sigmoid(z);
  return -(y * Math.log(p) + (1 - y) * Math.log(1 - p)) * Math.abs(y - p) ** beta;
}
function overlaps64(a: number[], b: number[]): { iou: number; giou: number } {
  const area = (x: number[]) => (x[2]! - x[0]!) * (x[3]! - x[1]!);
  const iw = Math.max(0, Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!));
  const ih = Math.max(0, Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!));
  const inter = iw * ih;
  const union = area(a) + area(b) - inter;
  const enclose = (Math.max(a[2]!, b[2]!) - Math.min(a[0]!, b[0]!)) * (Math.max(a[3]!, b[3]!) - Math.min(a[1]!, b[1]!));
  return { iou: inter / union, giou: inter / union - (enclose - union) / enclose };
}

describe('integralDistances', () => {
  it('is the expectation of the bin softmax, with a gradient matching central differences', () => {
    const rand = lcg(5);
    const regMax = 4;
    const z = Array.from({ length: 2 * 4 * (regMax + 1) }, () => rand() * 4 - 2);
    const x = tf.tensor2d(z, [2, 4 * (regMax + 1)]);
    const d = integralDistances(x, regMax).arraySync() as number[][];
    for (let i = 0; i < 2; i++) for (let j = 0; j < 4; j++) expect(d[i]![j]).toBeCloseTo(expectation(z.slice((4 * i + j) * 5, (4 * i + j + 1) * 5)), 5);
    // d/dz of sum_j c_j d_j against float64 central differences of the reference.
    const c = [0.3, -1.2, 0.7, 2.0, -0.4, 1.1, 0.9, -0.6];
    const f64 = (v: number[]) => {
      let s = 0;
      for (let k = 0; k < 8; k++) s += c[k]! * expectation(v.slice(5 * k, 5 * k + 5));
      return s;
    };
    const grad = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(integralDistances(t, regMax), tf.tensor2d(c, [2, 4]))))(x).dataSync();
    const h = 1e-5;
    z.forEach((_, i) => {
      const up = [...z];
      const down = [...z];
      up[i]! += h;
      down[i]! -= h;
      expect(grad[i]).toBeCloseTo((f64(up) - f64(down)) / (2 * h), 4);
    });
    expect(() => integralDistances(tf.zeros([2, 19]), regMax)).toThrow(/4 x 5 = 20/);
    x.dispose();
  });
});

describe('gflLoss on a hand-made head output', () => {
  it('equals the float64 reference (QFL with IoU targets / npos, w-weighted GIoU x 2 and DFL x 0.25 / 4, / max(sum w, 1))', () => {
    // Anchors of assign.test.ts: gt [2, 2, 18, 18] class 1 of C = 2 makes anchor 5 ([0, 0, 16, 16],
    // level 0, stride 8, centre (8, 8)) the only positive.
    const generator = createAnchorGenerator({ strides: [8, 16], ratios: [1], octaveBaseScale: 2, scalesPerOctave: 1 });
    const anchors = generator.gridPriors([
      [4, 4],
      [2, 2],
    ]);
    const regMax = 4;
    const bins = 4 * (regMax + 1);
    const rand = lcg(11);
    const clsValues = [Array.from({ length: 16 * 2 }, () => rand() * 6 - 3), Array.from({ length: 4 * 2 }, () => rand() * 6 - 3)];
    const regValues = [Array.from({ length: 16 * bins }, () => rand() * 4 - 2), Array.from({ length: 4 * bins }, () => rand() * 4 - 2)];
    const shapes = [4, 2];
    const cls = clsValues.map((v, l) => tf.tensor4d(v, [1, shapes[l]!, shapes[l]!, 2]));
    const reg = regValues.map((v, l) => tf.tensor4d(v, [1, shapes[l]!, shapes[l]!, bins]));
    const focus = new ProgressiveFocus(resolveHpfOptions(false, { gamma: 2 }));
    const out = gflLoss(
      { cls, reg, anchors, strides: [8, 16], targets: [{ boxes: new Float32Array([2, 2, 18, 18]), labels: new Int32Array([1]), ignoreBoxes: new Float32Array(0) }] },
      { numClasses: 2, topk: 4, regMax, focus, bboxLossWeight: 2, dflLossWeight: 0.25 },
    );

    // Stride units: centre (1, 1), gt [.25, .25, 2.25, 2.25].
    const gt = [0.25, 0.25, 2.25, 2.25];
    const z5 = regValues[0]!.slice(5 * bins, 6 * bins);
    const [l, t, r, b] = [0, 1, 2, 3].map((j) => expectation(z5.slice(5 * j, 5 * j + 5)));
    const pred = [1 - l!, 1 - t!, 1 + r!, 1 + b!];
    const { iou, giou } = overlaps64(pred, gt);
    const w = Math.max(sigmoid(clsValues[0]![10]!), sigmoid(clsValues[0]![11]!));
    const allCls = [...clsValues[0]!, ...clsValues[1]!];
    let clsRef = 0;
    for (let i = 0; i < 20; i++) for (let c = 0; c < 2; c++) clsRef += qfl64(allCls[2 * i + c]!, i === 5 && c === 1 ? iou : 0);
    const bboxRef = (2 * w * (1 - giou)) / Math.max(w, 1);
    // DFL targets: distances of the centre to the gt sides, clamped to [0, regMax - 0.1].
    const sides = [0.75, 0.75, 1.25, 1.25];
    let dfl = 0;
    sides.forEach((y, j) => {
      const p = softmax(z5.slice(5 * j, 5 * j + 5));
      const lo = Math.floor(y);
      dfl += -((lo + 1 - y) * Math.log(p[lo]!) + (y - lo) * Math.log(p[lo + 1]!));
    });
    const dflRef = (0.25 * ((w * dfl) / 4)) / Math.max(w, 1);

    expect(out.stats.numPositives).toBe(1);
    expect(out.losses.loss_cls!.dataSync()[0]).toBeCloseTo(clsRef, 5);
    expect(out.losses.loss_bbox!.dataSync()[0]).toBeCloseTo(bboxRef, 5);
    expect(out.losses.loss_dfl!.dataSync()[0]).toBeCloseTo(dflRef, 5);
    expect(out.total.dataSync()[0]).toBeCloseTo(clsRef + bboxRef + dflRef, 5);
    expect(out.stats.levels.map((s) => s.numPositives)).toEqual([1, 0]);
    tf.dispose([...cls, ...reg, out.total, ...Object.values(out.losses)]);
  });
});
