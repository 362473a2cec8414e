import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { ProgressiveFocus, resolveHpfOptions } from '@hpf/loss';
import { createAnchorGenerator, type DetectorTarget } from '@hpf/fpn';
import { createVfnet, vfnetLoss } from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

// The README's small-input setting.
const SMALL = {
  numClasses: 3,
  backbone: 'resnet10-mini',
  neckChannels: 32,
  featChannels: 32,
  stackedConvs: 1,
  seed: 7,
  octaveBaseScale: 2,
  regDenoms: [8, 16, 32, 64, 128],
} as const;

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
  [out.total, out.losses.loss_cls!, out.losses.loss_bbox!, out.losses.loss_bbox_rf!].map((t) => t.dataSync()[0]!);

describe('VFNet loss', () => {
  it('hpf { delta: 0 } gives the same loss as hpf: false (1e-6)', () => {
    const { images, targets } = batch();
    const totals: number[][] = [];
    for (const hpf of [false, { delta: 0 }] as const) {
      const det = createVfnet({ ...SMALL, hpf });
      const out = det.computeLoss(images, targets);
      totals.push(values(out));
      expect(out.stats.numPositives).toBeGreaterThan(0);
      tf.dispose([out.total, ...Object.values(out.losses)]);
      det.dispose();
    }
    totals[0]!.forEach((v, i) => expect(Math.abs(v - totals[1]![i]!)).toBeLessThan(1e-6));
    images.dispose();
  });

  it('hpf: true changes only the classification term: gamma_l on the negative term, alpha_l = 1.5 / gamma_l', () => {
    const { images, targets } = batch();
    const off = createVfnet({ ...SMALL, hpf: false });
    const on = createVfnet({ ...SMALL, hpf: true });
    const a = off.computeLoss(images, targets);
    const b = on.computeLoss(images, targets);
    expect(b.losses.loss_bbox!.dataSync()[0]).toBeCloseTo(a.losses.loss_bbox!.dataSync()[0]!, 6);
    expect(b.losses.loss_bbox_rf!.dataSync()[0]).toBeCloseTo(a.losses.loss_bbox_rf!.dataSync()[0]!, 6);
    expect(b.stats.levels).toHaveLength(5);
    expect(b.stats.levels.reduce((s, l) => s + l.numPositives, 0)).toBe(b.stats.numPositives);
    for (const level of b.stats.levels) {
      expect(level.gamma).toBeGreaterThanOrEqual(1.5);
      expect(level.gamma).toBeLessThanOrEqual(2.5);
      expect(level.alpha).toBeCloseTo(1.5 / level.gamma, 12);
      if (level.numPositives === 0) expect(level.gamma).toBe(2);
    }
    for (const level of a.stats.levels) expect([level.gamma, level.alpha]).toEqual([2, 0.75]);
    const sum = Object.values(b.losses).reduce((s, t) => s + t.dataSync()[0]!, 0);
    expect(b.total.dataSync()[0]).toBeCloseTo(sum, 5);
    tf.dispose([a.total, b.total, ...Object.values(a.losses), ...Object.values(b.losses), images]);
    off.dispose();
    on.dispose();
  });

  // Head variables only, one image: conv filter gradients of the whole network take minutes on the
  // cpu backend (the overfit test trains every variable on wasm).
  it('runs under tf.variableGrads (through both deformable convs) with finite gradients and no leaked tensors', () => {
    const { images: two, targets } = batch();
    const images = tf.slice(two, [0, 0, 0, 0], [1, 64, 64, 3]) as tf.Tensor4D;
    const det = createVfnet({ ...SMALL, hpf: true });
    const named = det.model.head.namedParameters();
    const counts: number[] = [];
    for (let i = 0; i < 2; i++) {
      const { value, grads } = tf.variableGrads(() => det.computeLoss(images, targets.slice(0, 1)).total, named.map(([, v]) => v));
      expect(Object.keys(grads).length).toBe(named.length);
      const norms = new Map(named.map(([name, v]) => [name, tf.tidy(() => tf.sum(tf.abs(grads[v.name]!)).dataSync()[0]!)]));
      for (const n of norms.values()) expect(Number.isFinite(n)).toBe(true);
      // the deformable convs, the refinement and the classifier all receive a gradient
      for (const name of ['vfnet_reg_refine_dconv.weight', 'vfnet_cls_dconv.weight', 'vfnet_reg_refine.weight', 'vfnet_reg.weight', 'vfnet_cls.weight', 'vfnet_reg_conv.conv.weight']) {
        expect(norms.get(name), name).toBeGreaterThan(0);
      }
      tf.dispose([value, ...Object.values(grads)]);
      counts.push(tf.memory().numTensors);
    }
    expect(counts[1]).toBe(counts[0]);
    det.dispose();
    tf.dispose([images, two]);
  });

  it('rejects unknown options and bad targets with clear errors', () => {
    expect(() => createVfnet({ ...SMALL, regDenom: [1] } as never)).toThrow(/unknown option 'regDenom'/);
    expect(() => createVfnet({ ...SMALL, regDenoms: [8, 16] })).toThrow(/regDenoms/);
    expect(() => createVfnet({ ...SMALL, topk: 0 })).toThrow(/topk/);
    expect(() => createVfnet({ ...SMALL, hpf: { gama0: 2 } as never })).toThrow(/gama0/);
    const det = createVfnet(SMALL);
    const images = tf.zeros([1, 64, 64, 3]) as tf.Tensor4D;
    expect(() => det.computeLoss(images, [{ boxes: new Float32Array([0, 0, 4, 4]), labels: new Int32Array([3]), ignoreBoxes: new Float32Array(0) }])).toThrow(/targets\[0\]\.labels\[0\] = 3/);
    images.dispose();
    det.dispose();
  });
});

// ---- float64 references ----
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
const bce = (z: number, q: number) => -(q * Math.log(sigmoid(z)) + (1 - q) * Math.log(1 - sigmoid(z)));
function overlaps64(a: number[], b: number[]): { iou: number; giou: number } {
  const area = (x: number[]) => (x[2]! - x[0]!) * (x[3]! - x[1]!);
  const iw = Math.max(0, Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!));
  const ih = Math.max(0, Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!));
  const inter = iw * ih;
  const union = area(a) + area(b) - inter;
  const enclose = (Math.max(a[2]!, b[2]!) - Math.min(a[0]!, b[0]!)) * (Math.max(a[3]!, b[3]!) - Math.min(a[1]!, b[1]!));
  return { iou: inter / union, giou: inter / union - (enclose - union) / enclose };
}

describe('vfnetLoss on a hand-made head output', () => {
  it('equals the float64 reference (VFL with the refined IoU target, IoU-weighted GIoU x 1.5 and x 2, crowd weight 0)', () => {
    // ATSS case of @hpf/fpn's atssBoxTargets test: anchors of side 2 * stride on a 4x4 (stride 8)
    // and 2x2 (stride 16) map, gt [2, 2, 18, 18] class 1 of C = 2: only anchor 5 (centre (8, 8)) is
    // positive; the crowd box [20, 20, 40, 40] ignores anchor 15 (centre (24, 24)).
    const anchors = createAnchorGenerator({ strides: [8, 16], ratios: [1], octaveBaseScale: 2, scalesPerOctave: 1 }).gridPriors([
      [4, 4],
      [2, 2],
    ]);
    const rand = lcg(17);
    const sizes = [4, 2];
    const clsValues = sizes.map((s) => Array.from({ length: s * s * 2 }, () => rand() * 6 - 3));
    const regValues = sizes.map((s) => Array.from({ length: s * s * 8 }, () => 2 + rand() * 12));
    const cls = clsValues.map((v, l) => tf.tensor4d(v, [1, sizes[l]!, sizes[l]!, 2]));
    const reg = regValues.map((v, l) => tf.tensor4d(v, [1, sizes[l]!, sizes[l]!, 8]));
    const focus = new ProgressiveFocus(resolveHpfOptions(false, { gamma: 2, alpha: 0.75 }));
    const out = vfnetLoss(
      { cls, reg, anchors, targets: [{ boxes: new Float32Array([2, 2, 18, 18]), labels: new Int32Array([1]), ignoreBoxes: new Float32Array([20, 20, 40, 40]) }] },
      { numClasses: 2, topk: 4, focus, bboxLossWeight: 1.5, bboxRefineLossWeight: 2 },
    );
    const gt = [2, 2, 18, 18];
    const sides = regValues[0]!.slice(5 * 8, 6 * 8);
    const box = (s: number[]) => [8 - s[0]!, 8 - s[1]!, 8 + s[2]!, 8 + s[3]!];
    const initial = overlaps64(box(sides.slice(0, 4)), gt);
    const refined = overlaps64(box(sides.slice(4, 8)), gt);
    const allCls = [...clsValues[0]!, ...clsValues[1]!];
    let clsRef = 0;
    for (let i = 0; i < 20; i++) {
      if (i === 15) continue; // crowd-ignored
      for (let c = 0; c < 2; c++) {
        const z = allCls[2 * i + c]!;
        clsRef += i === 5 && c === 1 ? refined.iou * bce(z, refined.iou) : 0.75 * sigmoid(z) ** 2 * bce(z, 0);
      }
    }
    const bboxRef = (1.5 * initial.iou * (1 - initial.giou)) / Math.max(initial.iou, 1);
    const refineRef = (2 * refined.iou * (1 - refined.giou)) / Math.max(refined.iou, 1);
    expect(refined.iou).toBeGreaterThan(0.05);
    expect(out.stats.numPositives).toBe(1);
    expect(out.losses.loss_cls!.dataSync()[0]).toBeCloseTo(clsRef, 5);
    expect(out.losses.loss_bbox!.dataSync()[0]).toBeCloseTo(bboxRef, 5);
    expect(out.losses.loss_bbox_rf!.dataSync()[0]).toBeCloseTo(refineRef, 5);
    expect(out.total.dataSync()[0]).toBeCloseTo(clsRef + bboxRef + refineRef, 5);
    expect(out.stats.levels.map((s) => s.numPositives)).toEqual([1, 0]);
    tf.dispose([...cls, ...reg, out.total, ...Object.values(out.losses)]);
  });
});
