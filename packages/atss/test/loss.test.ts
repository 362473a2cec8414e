import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { ProgressiveFocus, resolveHpfOptions } from '@hpf/loss';
import { createAnchorGenerator, DeltaXYWHCoder } from '@hpf/dense';
import {
  expectDeltaZeroMatchesBaseline,
  expectFiniteHeadGradients,
  expectHpfChangesOnlyClassification,
  expectTargetErrors,
  focal64,
  giou64,
  lcg,
  lossBatch,
  sigmoid,
  SMALL_DETECTOR,
  type HpfSetting,
} from '@hpf/testkit';
import { atssLoss, createAtss } from '../src/index.js';
import { installTrainingKernels } from '@hpf/engine';

// The gradients computeLoss needs under tf.variableGrads (the trainer's set-up).
installTrainingKernels();

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const SMALL = SMALL_DETECTOR;
const make = (hpf: HpfSetting) => createAtss({ ...SMALL, octaveBaseScale: 2, hpf });

describe('ATSS loss', () => {
  it('hpf { delta: 0 } gives the same loss as hpf: false (1e-6)', () => {
    const batch = lossBatch();
    expectDeltaZeroMatchesBaseline(make, batch, {
      terms: ['loss_cls', 'loss_bbox', 'loss_centerness'],
      levels: { count: 5, focus: { gamma: 2, alpha: 0.25 } },
    });
    batch.images.dispose();
  });

  it('hpf: true changes only the classification term, and reports stats per level', () => {
    const batch = lossBatch();
    expectHpfChangesOnlyClassification(make, batch, {
      unchanged: ['loss_bbox', 'loss_centerness'],
      gamma0: 2,
      alpha: (gamma) => 0.5 / gamma,
      statistic: 'positive',
      baseline: { gamma: 2, alpha: 0.25 },
    });
    batch.images.dispose();
  });

  it('runs under tf.variableGrads with finite gradients and no leaked tensors', () => {
    const batch = lossBatch();
    const det = make(true);
    expectFiniteHeadGradients(det, batch);
    det.dispose();
    batch.images.dispose();
  });

  it('rejects unknown options and bad targets with clear errors', () => {
    expect(() => createAtss({ ...SMALL, topK: 9 } as never)).toThrow(/unknown option 'topK'/);
    expect(() => createAtss({ ...SMALL, numClasses: 0 })).toThrow(/numClasses/);
    expect(() => createAtss({ ...SMALL, hpf: { gama0: 2 } as never })).toThrow(/gama0/);
    const det = createAtss(SMALL);
    expectTargetErrors(det, 3);
    det.dispose();
  });
});

// ---- A hand-checked value on the tiny case of assign.test.ts, against float64 arithmetic. ----
// Anchors: stride 8 (4x4) and 16 (2x2), side 2 * stride. gt [2, 2, 18, 18] class 1 of C = 2 makes
// anchor 5 ([0, 0, 16, 16]) the only positive, with centerness 0.6 (see assign.test.ts).

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
