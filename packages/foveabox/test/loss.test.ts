import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { ProgressiveFocus, resolveHpfOptions } from '@hpf/loss';
import { createPointGenerator, type DetectorTarget } from '@hpf/fpn';
import { createFoveaBox, foveaLoss, smoothL1Loss } from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

// The README's small-input setting (scale ranges and base edges halved).
const SMALL_INPUT = {
  baseEdges: [8, 16, 32, 64, 128],
  scaleRanges: [
    [0.5, 32],
    [16, 64],
    [32, 128],
    [64, 256],
    [128, 1024],
  ] as Array<[number, number]>,
};
const SMALL = { numClasses: 3, backbone: 'resnet10-mini', neckChannels: 32, featChannels: 32, stackedConvs: 1, seed: 7, ...SMALL_INPUT } as const;

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
    { boxes: new Float32Array([10, 12, 22, 30]), labels: new Int32Array([1]), ignoreBoxes: new Float32Array(0) },
  ];
  return { images, targets };
}

describe('FoveaBox loss', () => {
  it('hpf { delta: 0 } gives the same loss as hpf: false (1e-6)', () => {
    const { images, targets } = batch();
    const totals: number[][] = [];
    for (const hpf of [false, { delta: 0 }] as const) {
      const det = createFoveaBox({ ...SMALL, hpf });
      const out = det.computeLoss(images, targets);
      totals.push([out.total, out.losses.loss_cls!, out.losses.loss_bbox!].map((t) => t.dataSync()[0]!));
      expect(out.stats.numPositives).toBeGreaterThan(0);
      expect(out.stats.avgFactor).toBe(out.stats.numPositives + 2);
      tf.dispose([out.total, ...Object.values(out.losses)]);
      det.dispose();
    }
    totals[0]!.forEach((v, i) => expect(Math.abs(v - totals[1]![i]!)).toBeLessThan(1e-6));
    images.dispose();
  });

  it('hpf: true changes only the classification term, centred on gamma 1.5 / alpha 0.4', () => {
    const { images, targets } = batch();
    const off = createFoveaBox({ ...SMALL, hpf: false });
    const on = createFoveaBox({ ...SMALL, hpf: true });
    const a = off.computeLoss(images, targets);
    const b = on.computeLoss(images, targets);
    expect(b.losses.loss_bbox!.dataSync()[0]).toBeCloseTo(a.losses.loss_bbox!.dataSync()[0]!, 6);
    expect(b.stats.levels).toHaveLength(5);
    expect(b.stats.levels.reduce((s, l) => s + l.numPositives, 0)).toBe(b.stats.numPositives);
    for (const level of b.stats.levels) {
      expect(level.gamma).toBeGreaterThanOrEqual(1);
      expect(level.gamma).toBeLessThanOrEqual(2);
      expect(level.alpha).toBeCloseTo(0.6 / level.gamma, 12);
      if (level.numPositives === 0) expect(level.gamma).toBe(1.5);
    }
    for (const level of a.stats.levels) {
      expect(level.gamma).toBe(1.5);
      expect(level.alpha).toBeCloseTo(0.4, 12);
    }
    const sum = Object.values(b.losses).reduce((s, t) => s + t.dataSync()[0]!, 0);
    expect(b.total.dataSync()[0]).toBeCloseTo(sum, 5);
    tf.dispose([a.total, b.total, ...Object.values(a.losses), ...Object.values(b.losses), images]);
    off.dispose();
    on.dispose();
  });

  it('runs under tf.variableGrads with finite gradients and no leaked tensors', () => {
    const { images, targets } = batch();
    const det = createFoveaBox({ ...SMALL, hpf: true });
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

  it('rejects unknown options, bad scale options and bad targets with clear errors', () => {
    expect(() => createFoveaBox({ ...SMALL, scaleRange: [] } as never)).toThrow(/unknown option 'scaleRange'/);
    expect(() => createFoveaBox({ ...SMALL, sigma: 0 })).toThrow(/sigma/);
    expect(() => createFoveaBox({ ...SMALL, baseEdges: [1, 2] })).toThrow(/baseEdges/);
    expect(() => createFoveaBox({ ...SMALL, scaleRanges: [[2, 1], [0, 1], [0, 1], [0, 1], [0, 1]] })).toThrow(/scaleRanges/);
    const det = createFoveaBox(SMALL);
    const images = tf.zeros([1, 64, 64, 3]) as tf.Tensor4D;
    expect(() => det.computeLoss(images, [{ boxes: new Float32Array([0, 0, 4, 4]), labels: new Int32Array([3]), ignoreBoxes: new Float32Array(0) }])).toThrow(/targets\[0\]\.labels\[0\] = 3/);
    images.dispose();
    det.dispose();
  });
});

// ---- float64 references ----
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
function focal64(z: number, t: number, gamma = 1.5, alpha = 0.4): number {
  const p = sigmoid(z);
  return t === 1 ? -alpha * (1 - p) ** gamma * Math.log(p) : -(1 - alpha) * p ** gamma * Math.log(1 - p);
}
const smoothL164 = (d: number, beta = 0.11) => (Math.abs(d) < beta ? (0.5 * d * d) / beta : Math.abs(d) - 0.5 * beta);

describe('smoothL1Loss', () => {
  it('equals the two-branch float64 formula, with a gradient matching central differences', () => {
    const rand = lcg(9);
    const p = Array.from({ length: 12 }, () => rand() * 0.6 - 0.3);
    const q = Array.from({ length: 12 }, () => rand() * 0.6 - 0.3);
    const pred = tf.tensor2d(p, [3, 4]);
    const target = tf.tensor2d(q, [3, 4]);
    const ref = (v: number[]) => v.reduce((s, x, i) => s + smoothL164(x - q[i]!), 0) / 3;
    expect(smoothL1Loss(pred, target, 3, 0.11).dataSync()[0]).toBeCloseTo(ref(p), 6);
    const grad = tf.grad((x: tf.Tensor) => smoothL1Loss(x as tf.Tensor2D, target, 3, 0.11))(pred).dataSync();
    const h = 1e-6;
    p.forEach((_, i) => {
      const up = [...p];
      const down = [...p];
      up[i]! += h;
      down[i]! -= h;
      expect(grad[i]).toBeCloseTo((ref(up) - ref(down)) / (2 * h), 4);
    });
    expect(() => smoothL1Loss(pred, target, 3, 0)).toThrow(/beta/);
    tf.dispose([pred, target]);
  });
});

describe('foveaLoss on a hand-made head output', () => {
  it('equals the float64 reference (focal 1.5 / .4 over (npos + nimg), smooth-L1 .11 over npos)', () => {
    // The hand-worked case A + B of assign.test.ts: positives at index 5 (class 2, targets log .5)
    // and 19 (class 4, targets log (.75, .75, .75, .5)), C = 5.
    const sizes = [4, 2];
    const points = createPointGenerator({ strides: [8, 16] }).gridPriors([
      [4, 4],
      [2, 2],
    ]);
    const rand = lcg(21);
    const clsValues = sizes.map((s) => Array.from({ length: s * s * 5 }, () => rand() * 6 - 3));
    const regValues = sizes.map((s) => Array.from({ length: s * s * 4 }, () => rand() * 2 - 1.5));
    const cls = clsValues.map((v, l) => tf.tensor4d(v, [1, sizes[l]!, sizes[l]!, 5]));
    const reg = regValues.map((v, l) => tf.tensor4d(v, [1, sizes[l]!, sizes[l]!, 4]));
    const focus = new ProgressiveFocus(resolveHpfOptions(false, { gamma: 1.5, alpha: 0.4 }));
    const out = foveaLoss(
      { cls, reg, points, targets: [{ boxes: new Float32Array([4, 4, 20, 20, 0, 0, 48, 40]), labels: new Int32Array([2, 4]), ignoreBoxes: new Float32Array(0) }] },
      {
        numClasses: 5,
        strides: [8, 16],
        baseEdges: [16, 32],
        scaleRanges: [
          [1, 20],
          [16, 64],
        ],
        sigma: 0.4,
        focus,
        bboxLossWeight: 1,
        smoothL1Beta: 0.11,
      },
    );
    const allCls = [...clsValues[0]!, ...clsValues[1]!];
    const positiveClass = new Map([
      [5, 2],
      [19, 4],
    ]);
    let clsRef = 0;
    for (let i = 0; i < 20; i++) for (let c = 0; c < 5; c++) clsRef += focal64(allCls[5 * i + c]!, positiveClass.get(i) === c ? 1 : 0);
    clsRef /= 2 + 1;
    const allReg = [...regValues[0]!, ...regValues[1]!];
    const targets = new Map([
      [5, [0.5, 0.5, 0.5, 0.5].map(Math.log)],
      [19, [0.75, 0.75, 0.75, 0.5].map(Math.log)],
    ]);
    let bboxRef = 0;
    for (const [i, t] of targets) t.forEach((v, j) => (bboxRef += smoothL164(allReg[4 * i + j]! - v)));
    bboxRef /= 2;
    expect(out.stats.numPositives).toBe(2);
    expect(out.stats.avgFactor).toBe(3);
    expect(out.losses.loss_cls!.dataSync()[0]).toBeCloseTo(clsRef, 5);
    expect(out.losses.loss_bbox!.dataSync()[0]).toBeCloseTo(bboxRef, 5);
    expect(out.total.dataSync()[0]).toBeCloseTo(clsRef + bboxRef, 5);
    expect(out.stats.levels.map((s) => s.numPositives)).toEqual([1, 1]);
    tf.dispose([...cls, ...reg, out.total, ...Object.values(out.losses)]);
  });
});
