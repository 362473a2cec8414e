import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { ProgressiveFocus, resolveHpfOptions } from '@hpf/loss';
import { createPointGenerator } from '@hpf/dense';
import {
  expectDeltaZeroMatchesBaseline,
  expectFiniteHeadGradients,
  expectHpfChangesOnlyClassification,
  expectTargetErrors,
  focal64,
  lcg,
  lossBatch,
  SMALL_DETECTOR,
  type HpfSetting,
} from '@hpf/testkit';
import { createFoveaBox, foveaLoss } from '../src/index.js';
import { installTrainingKernels } from '@hpf/engine';

// The gradients computeLoss needs under tf.variableGrads (the trainer's set-up).
installTrainingKernels();

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
const SMALL = { ...SMALL_DETECTOR, ...SMALL_INPUT } as const;

const make = (hpf: HpfSetting) => createFoveaBox({ ...SMALL, hpf });
// FoveaBox's published focal loss: gamma 1.5, alpha 0.4 (w = 0.6).
const PUBLISHED = { gamma: 1.5, alpha: 0.4, alphaDigits: 12 };
const batch = () => lossBatch(3, [10, 12, 22, 30]);

describe('FoveaBox loss', () => {
  it('hpf { delta: 0 } gives the same loss as hpf: false (1e-6)', () => {
    const b = batch();
    expectDeltaZeroMatchesBaseline(make, b, {
      terms: ['loss_cls', 'loss_bbox'],
      levels: { count: 5, focus: PUBLISHED },
      also: (out) => expect(out.stats.avgFactor).toBe(out.stats.numPositives + 2),
    });
    b.images.dispose();
  });

  it('hpf: true changes only the classification term, centred on gamma 1.5 / alpha 0.4', () => {
    const b = batch();
    expectHpfChangesOnlyClassification(make, b, {
      unchanged: ['loss_bbox'],
      gamma0: 1.5,
      alpha: (gamma) => 0.6 / gamma,
      statistic: 'unchecked',
      baseline: PUBLISHED,
    });
    b.images.dispose();
  });

  it('runs under tf.variableGrads with finite gradients and no leaked tensors', () => {
    const b = batch();
    const det = make(true);
    expectFiniteHeadGradients(det, b);
    det.dispose();
    b.images.dispose();
  });

  it('rejects unknown options, bad scale options and bad targets with clear errors', () => {
    expect(() => createFoveaBox({ ...SMALL, scaleRange: [] } as never)).toThrow(/unknown option 'scaleRange'/);
    expect(() => createFoveaBox({ ...SMALL, sigma: 0 })).toThrow(/sigma/);
    expect(() => createFoveaBox({ ...SMALL, baseEdges: [1, 2] })).toThrow(/baseEdges/);
    expect(() => createFoveaBox({ ...SMALL, scaleRanges: [[2, 1], [0, 1], [0, 1], [0, 1], [0, 1]] })).toThrow(/scaleRanges/);
    const det = createFoveaBox(SMALL);
    expectTargetErrors(det, 3);
    det.dispose();
  });
});

// ---- float64 references ----
const smoothL164 = (d: number, beta = 0.11) => (Math.abs(d) < beta ? (0.5 * d * d) / beta : Math.abs(d) - 0.5 * beta);

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
    for (let i = 0; i < 20; i++) for (let c = 0; c < 5; c++) clsRef += focal64(allCls[5 * i + c]!, positiveClass.get(i) === c ? 1 : 0, 1.5, 0.4);
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
