import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { ProgressiveFocus, resolveHpfOptions } from '@hpf/loss';
import {
  expectDeltaZeroMatchesBaseline,
  expectFiniteHeadGradients,
  expectHpfChangesOnlyClassification,
  focal64,
  giou64,
  lcg,
  lossBatch,
  sigmoid,
  SMALL_DETECTOR,
  type HpfSetting,
} from '@hpf/testkit';
import { createFcos, fcosLoss } from '../src/index.js';
import { installTrainingKernels } from '@hpf/engine';

// The gradients computeLoss needs under tf.variableGrads (the trainer's set-up).
installTrainingKernels();

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const SMALL = { ...SMALL_DETECTOR, seed: 2 } as const;

const make = (hpf: HpfSetting) => createFcos({ ...SMALL, hpf });

describe('FCOS loss', () => {
  it('hpf { delta: 0 } gives the same loss as hpf: false (1e-6)', () => {
    const batch = lossBatch(6);
    expectDeltaZeroMatchesBaseline(make, batch, {
      terms: ['loss_cls', 'loss_bbox', 'loss_centerness'],
      levels: { count: 5, focus: { gamma: 2, alpha: 0.25 } },
    });
    batch.images.dispose();
  });

  it('hpf: true changes only loss_cls, and reports stats per level', () => {
    const batch = lossBatch(6);
    expectHpfChangesOnlyClassification(make, batch, {
      unchanged: ['loss_bbox', 'loss_centerness'],
      gamma0: 2,
      alpha: (gamma) => 0.5 / gamma,
      statistic: 'positive',
      baseline: { gamma: 2, alpha: 0.25 },
    });
    batch.images.dispose();
  });

  it('runs under tf.variableGrads (head variables) with finite gradients and a flat tensor count', () => {
    const batch = lossBatch(6);
    const det = make(true);
    expectFiniteHeadGradients(det, batch);
    det.dispose();
    batch.images.dispose();
  });

  it('rejects unknown and bad options with clear errors', () => {
    expect(() => createFcos({ ...SMALL, centreSampling: true } as never)).toThrow(/unknown option 'centreSampling'/);
    expect(() => createFcos({ ...SMALL, centerSamplingRadius: -1 })).toThrow(/'centerSamplingRadius'/);
    expect(() => createFcos({ ...SMALL, regressRanges: [[0, 64]] })).toThrow(/'regressRanges'/);
  });
});

// Hand-checked tiny case against float64: one level of stride 8, points (4, 4), (12, 4), (4, 12),
// (12, 12); gt [0, 0, 14, 14] (class 0 of 2) covers all four, within 1.5 strides of its centre.
describe('fcosLoss on a hand-made head output', () => {
  it('equals the float64 reference (focal / npos, centerness-weighted GIoU / sum of centerness, BCE / npos)', () => {
    const rand = lcg(12);
    const clsValues = Array.from({ length: 4 * 2 }, () => rand() * 6 - 3);
    const regValues = Array.from({ length: 4 * 4 }, () => 0.2 + rand() * 2);
    const ctrValues = Array.from({ length: 4 }, () => rand() * 4 - 2);
    const points = Float32Array.from([4, 4, 12, 4, 4, 12, 12, 12]);
    const out = fcosLoss(
      {
        cls: [tf.tensor4d(clsValues, [1, 2, 2, 2])],
        reg: [tf.tensor4d(regValues, [1, 2, 2, 4])],
        centerness: [tf.tensor4d(ctrValues, [1, 2, 2, 1])],
        points: [points],
        targets: [{ boxes: Float32Array.from([0, 0, 14, 14]), labels: Int32Array.from([0]), ignoreBoxes: new Float32Array(0) }],
      },
      {
        numClasses: 2,
        strides: [8],
        regressRanges: [[-1, 64]],
        centerSampling: true,
        centerSamplingRadius: 1.5,
        focus: new ProgressiveFocus(resolveHpfOptions(false, { gamma: 2, alpha: 0.25 })),
        bboxLossWeight: 1,
        centernessLossWeight: 1,
      },
    );
    let clsRef = 0;
    let boxSum = 0;
    let weightSum = 0;
    let ctrRef = 0;
    for (let i = 0; i < 4; i++) {
      clsRef += focal64(clsValues[2 * i]!, 1) + focal64(clsValues[2 * i + 1]!, 0);
      const [x, y] = [points[2 * i]!, points[2 * i + 1]!];
      const [l, t, r, b] = [x, y, 14 - x, 14 - y].map((d) => d / 8);
      const c = Math.sqrt((Math.min(l!, r!) / Math.max(l!, r!)) * (Math.min(t!, b!) / Math.max(t!, b!)));
      const p = regValues.slice(4 * i, 4 * i + 4);
      boxSum += c * (1 - giou64([-p[0]!, -p[1]!, p[2]!, p[3]!], [-l!, -t!, r!, b!]));
      weightSum += c;
      const z = ctrValues[i]!;
      ctrRef += -(c * Math.log(sigmoid(z)) + (1 - c) * Math.log(1 - sigmoid(z)));
    }
    expect(out.stats.numPositives).toBe(4);
    expect(out.losses.loss_cls!.dataSync()[0]).toBeCloseTo(clsRef / 4, 5);
    expect(out.losses.loss_bbox!.dataSync()[0]).toBeCloseTo(boxSum / weightSum, 5);
    expect(out.losses.loss_centerness!.dataSync()[0]).toBeCloseTo(ctrRef / 4, 5);
    tf.dispose([out.total, ...Object.values(out.losses)]);
  });
});
