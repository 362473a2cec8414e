import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { ProgressiveFocus, resolveHpfOptions } from '@hpf/loss';
import { createAnchorGenerator } from '@hpf/dense';
import {
  bce64 as bce,
  expectDeltaZeroMatchesBaseline,
  expectHpfChangesOnlyClassification,
  expectTargetErrors,
  lcg,
  lossBatch,
  overlaps64,
  sigmoid,
  SMALL_DETECTOR,
  type HpfSetting,
} from '@hpf/testkit';
import { createVfnet, vfnetLoss } from '../src/index.js';
import { installTrainingKernels } from '@hpf/engine';

// The gradients computeLoss needs under tf.variableGrads (the trainer's set-up).
installTrainingKernels();

beforeAll(async () => {
  await tf.setBackend('cpu');
});

// The README's small-input setting.
const SMALL = { ...SMALL_DETECTOR, octaveBaseScale: 2, regDenoms: [8, 16, 32, 64, 128] } as const;

const make = (hpf: HpfSetting) => createVfnet({ ...SMALL, hpf });

describe('VFNet loss', () => {
  it('hpf { delta: 0 } gives the same loss as hpf: false (1e-6)', () => {
    const batch = lossBatch();
    expectDeltaZeroMatchesBaseline(make, batch, {
      terms: ['loss_cls', 'loss_bbox', 'loss_bbox_rf'],
      levels: { count: 5, focus: { gamma: 2, alpha: 0.75 } },
    });
    batch.images.dispose();
  });

  it('hpf: true changes only the classification term: gamma_l on the negative term, alpha_l = 1.5 / gamma_l', () => {
    const batch = lossBatch();
    expectHpfChangesOnlyClassification(make, batch, {
      unchanged: ['loss_bbox', 'loss_bbox_rf'],
      gamma0: 2,
      alpha: (gamma) => 1.5 / gamma,
      statistic: 'unchecked',
      baseline: { gamma: 2, alpha: 0.75 },
    });
    batch.images.dispose();
  });

  // Head variables only, one image: conv filter gradients of the whole network take minutes on the
  // cpu backend (the overfit test trains every variable on wasm).
  it('runs under tf.variableGrads (through both deformable convs) with finite gradients and no leaked tensors', () => {
    const { images: two, targets } = lossBatch();
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
    expectTargetErrors(det, 3);
    det.dispose();
  });
});

// ---- float64 references ----
describe('vfnetLoss on a hand-made head output', () => {
  it('equals the float64 reference (VFL with the refined IoU target, IoU-weighted GIoU x 1.5 and x 2, crowd weight 0)', () => {
    // ATSS case of @hpf/dense's atssBoxTargets test: anchors of side 2 * stride on a 4x4 (stride 8)
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
