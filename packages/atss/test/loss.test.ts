import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { ProgressiveFocus, resolveHpfOptions } from '@hpf/loss';
import { createAnchorGenerator, DeltaXYWHCoder, type DetectorTarget } from '@hpf/fpn';
import { atssLoss, createAtss } from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const SMALL = { numClasses: 3, backbone: 'resnet10-mini', neckChannels: 32, featChannels: 32, stackedConvs: 1, seed: 7 } as const;

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

describe('ATSS loss', () => {
  it('hpf { delta: 0 } gives the same loss as hpf: false (1e-6)', () => {
    const { images, targets } = batch();
    const totals: number[][] = [];
    for (const hpf of [false, { delta: 0 }] as const) {
      const det = createAtss({ ...SMALL, octaveBaseScale: 2, hpf });
      const out = det.computeLoss(images, targets);
      totals.push([out.total, out.losses.loss_cls!, out.losses.loss_bbox!, out.losses.loss_centerness!].map((t) => t.dataSync()[0]!));
      expect(out.stats.numPositives).toBeGreaterThan(0);
      tf.dispose([out.total, ...Object.values(out.losses)]);
      det.dispose();
    }
    totals[0]!.forEach((v, i) => expect(Math.abs(v - totals[1]![i]!)).toBeLessThan(1e-6));
    images.dispose();
  });

  it('hpf: true changes only the classification term, and reports stats per level', () => {
    const { images, targets } = batch();
    const off = createAtss({ ...SMALL, octaveBaseScale: 2, hpf: false });
    const on = createAtss({ ...SMALL, octaveBaseScale: 2, hpf: true });
    const a = off.computeLoss(images, targets);
    const b = on.computeLoss(images, targets);
    expect(b.losses.loss_bbox!.dataSync()[0]).toBeCloseTo(a.losses.loss_bbox!.dataSync()[0]!, 6);
    expect(b.losses.loss_centerness!.dataSync()[0]).toBeCloseTo(a.losses.loss_centerness!.dataSync()[0]!, 6);
    expect(b.stats.levels).toHaveLength(5);
    expect(b.stats.levels.reduce((s, l) => s + l.numPositives, 0)).toBe(b.stats.numPositives);
    for (const level of b.stats.levels) {
      expect(level.gamma).toBeGreaterThanOrEqual(1.5);
      expect(level.gamma).toBeLessThanOrEqual(2.5);
      expect(level.alpha).toBeCloseTo(0.5 / level.gamma, 12);
      if (level.numPositives > 0) expect(level.statistic).toBeGreaterThan(0);
      else expect(level.gamma).toBe(2);
    }
    for (const level of a.stats.levels) expect([level.gamma, level.alpha]).toEqual([2, 0.25]);
    // total is the sum of the terms
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
    const det = createAtss({ ...SMALL, octaveBaseScale: 2, hpf: true });
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
    // The first call fills the prior cache; after that a step leaves nothing behind.
    expect(counts[1]).toBe(counts[0]);
    det.dispose();
    images.dispose();
  });

  it('rejects unknown options and bad targets with clear errors', () => {
    expect(() => createAtss({ ...SMALL, topK: 9 } as never)).toThrow(/unknown option 'topK'/);
    expect(() => createAtss({ ...SMALL, numClasses: 0 })).toThrow(/numClasses/);
    expect(() => createAtss({ ...SMALL, hpf: { gama0: 2 } as never })).toThrow(/gama0/);
    const det = createAtss(SMALL);
    const images = tf.zeros([1, 64, 64, 3]) as tf.Tensor4D;
    expect(() => det.computeLoss(images, [{ boxes: new Float32Array([0, 0, 4, 4]), labels: new Int32Array([3]), ignoreBoxes: new Float32Array(0) }])).toThrow(/targets\[0\]\.labels\[0\] = 3/);
    expect(() => det.computeLoss(images, [])).toThrow(/expected 1 targets/);
    images.dispose();
    det.dispose();
  });
});

// ---- A hand-checked value on the tiny case of assign.test.ts, against float64 arithmetic. ----
// Anchors: stride 8 (4x4) and 16 (2x2), side 2 * stride. gt [2, 2, 18, 18] class 1 of C = 2 makes
// anchor 5 ([0, 0, 16, 16]) the only positive, with centerness 0.6 (see assign.test.ts).
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
function focal64(z: number, t: number, gamma = 2, alpha = 0.25): number {
  const p = sigmoid(z);
  return t === 1 ? -alpha * (1 - p) ** gamma * Math.log(p) : -(1 - alpha) * p ** gamma * Math.log(1 - p);
}
function giou64(a: number[], b: number[]): number {
  const area = (x: number[]) => (x[2]! - x[0]!) * (x[3]! - x[1]!);
  const iw = Math.max(0, Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!));
  const ih = Math.max(0, Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!));
  const inter = iw * ih;
  const union = area(a) + area(b) - inter;
  const enclose = (Math.max(a[2]!, b[2]!) - Math.min(a[0]!, b[0]!)) * (Math.max(a[3]!, b[3]!) - Math.min(a[1]!, b[1]!));
  return inter / union - (enclose - union) / enclose;
}

describe('atssLoss on a hand-made head output', () => {
  it('equals the float64 reference (focal / max(npos, 1), centerness-weighted GIoU x 2, centerness BCE)', () => {
    const generator = createAnchorGenerator({ strides: [8, 16], ratios: [1], octaveBaseScale: 2, scalesPerOctave: 1 });
    const anchors = generator.gridPriors([
      [4, 4],
      [2, 2],
    ]);
    const rand = lcg(11);
    const clsValues = [Array.from({ length: 16 * 2 }, () => rand() * 6 - 3), Array.from({ length: 4 * 2 }, () => rand() * 6 - 3)];
    const regValues = [Array.from({ length: 16 * 4 }, () => rand() - 0.5), Array.from({ length: 4 * 4 }, () => rand() - 0.5)];
    const ctrValues = [Array.from({ length: 16 }, () => rand() * 4 - 2), Array.from({ length: 4 }, () => rand() * 4 - 2)];
    const shapes = [4, 2];
    const t4 = (v: number[], l: number, k: number) => tf.tensor4d(v, [1, shapes[l]!, shapes[l]!, k]);
    const cls = clsValues.map((v, l) => t4(v, l, 2));
    const reg = regValues.map((v, l) => t4(v, l, 4));
    const centerness = ctrValues.map((v, l) => t4(v, l, 1));
    const focus = new ProgressiveFocus(resolveHpfOptions(false, { gamma: 2, alpha: 0.25 }));
    const out = atssLoss(
      { cls, reg, centerness, anchors, targets: [{ boxes: new Float32Array([2, 2, 18, 18]), labels: new Int32Array([1]), ignoreBoxes: new Float32Array(0) }] },
      { numClasses: 2, topk: 4, coder: new DeltaXYWHCoder({ stds: [0.1, 0.1, 0.2, 0.2] }), focus, bboxLossWeight: 2, centernessLossWeight: 1 },
    );

    // float64 reference
    const allCls = [...clsValues[0]!, ...clsValues[1]!];
    let clsRef = 0;
    for (let i = 0; i < 20; i++) for (let c = 0; c < 2; c++) clsRef += focal64(allCls[2 * i + c]!, i === 5 && c === 1 ? 1 : 0);
    const [dx, dy, dw, dh] = regValues[0]!.slice(20, 24).map((v, k) => v * [0.1, 0.1, 0.2, 0.2][k]!);
    const [cx, cy, w, h] = [8 + 16 * dx!, 8 + 16 * dy!, 16 * Math.exp(dw!), 16 * Math.exp(dh!)];
    const pred = [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2];
    const bboxRef = (2 * 0.6 * (1 - giou64(pred, [2, 2, 18, 18]))) / Math.max(0.6, 1);
    const z = ctrValues[0]![5]!;
    const ctrRef = -(0.6 * Math.log(sigmoid(z)) + 0.4 * Math.log(1 - sigmoid(z)));

    expect(out.stats.numPositives).toBe(1);
    expect(out.losses.loss_cls!.dataSync()[0]).toBeCloseTo(clsRef, 5);
    expect(out.losses.loss_bbox!.dataSync()[0]).toBeCloseTo(bboxRef, 5);
    expect(out.losses.loss_centerness!.dataSync()[0]).toBeCloseTo(ctrRef, 5);
    expect(out.total.dataSync()[0]).toBeCloseTo(clsRef + bboxRef + ctrRef, 5);
    expect(out.stats.levels.map((l) => l.numPositives)).toEqual([1, 0]);
    tf.dispose([...cls, ...reg, ...centerness, out.total, ...Object.values(out.losses)]);
  });
});
