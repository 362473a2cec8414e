import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { ProgressiveFocus, resolveHpfOptions } from '@hpf/loss';
import { DeltaXYWHCoder } from '@hpf/dense';
import {
  expectDeltaZeroMatchesBaseline,
  expectFiniteHeadGradients,
  expectHpfChangesOnlyClassification,
  focal64,
  lcg,
  lossBatch,
  SMALL_DETECTOR,
  type HpfSetting,
} from '@hpf/testkit';
import { createRetinaNet, retinaLoss } from '../src/index.js';
import { installTrainingKernels } from '@hpf/engine';

// The gradients computeLoss needs under tf.variableGrads (the trainer's set-up).
installTrainingKernels();

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const SMALL = { ...SMALL_DETECTOR, seed: 5, octaveBaseScale: 2 } as const;

const make = (hpf: HpfSetting) => createRetinaNet({ ...SMALL, hpf });

describe('RetinaNet loss', () => {
  it('hpf { delta: 0 } gives the same loss as hpf: false (1e-6)', () => {
    const batch = lossBatch(4);
    expectDeltaZeroMatchesBaseline(make, batch, {
      terms: ['loss_cls', 'loss_bbox'],
      levels: { count: 5, focus: { gamma: 2, alpha: 0.25 } },
    });
    batch.images.dispose();
  });

  it('hpf: true changes only loss_cls, and reports stats per level', () => {
    const batch = lossBatch(4);
    expectHpfChangesOnlyClassification(make, batch, {
      unchanged: ['loss_bbox'],
      gamma0: 2,
      alpha: (gamma) => 0.5 / gamma,
      statistic: 'positive',
      baseline: { gamma: 2, alpha: 0.25 },
    });
    batch.images.dispose();
  });

  it('runs under tf.variableGrads (head variables) with finite gradients and a flat tensor count', () => {
    const batch = lossBatch(4);
    const det = make(true);
    expectFiniteHeadGradients(det, batch);
    det.dispose();
    batch.images.dispose();
  });

  it('rejects unknown options with clear errors', () => {
    expect(() => createRetinaNet({ ...SMALL, boxloss: 'l1' } as never)).toThrow(/unknown option 'boxloss'/);
    expect(() => createRetinaNet({ ...SMALL, boxLoss: 'l2' as never })).toThrow(/'boxLoss'/);
    expect(() => createRetinaNet({ ...SMALL, lowQualityStyle: 'detectron' as never })).toThrow(/'lowQualityStyle'/);
  });
});

// Hand-checked tiny case against float64. One 2 x 2 level of stride 8 with two anchors per
// location: [8x-4, 8y-4, 8x+4, 8y+4] and [8x-8, 8y-8, 8x+8, 8y+8]. gt [-3,-3,5,5] (class 1 of 2):
// IoU 49/79 = .620 with anchor 0 (positive), .25 with anchor 1 and < .15 with all others
// (background). Anchor 0's target deltas: centre shift (1, 1) / 8, sizes equal -> (.125, .125, 0, 0).
describe('retinaLoss on a hand-made head output', () => {
  for (const beta of [0, 0.11]) {
    it(`equals the float64 reference (focal / npos, ${beta === 0 ? 'L1' : 'smooth L1'} on deltas / npos)`, () => {
      const anchors = new Float32Array(8 * 4);
      let k = 0;
      for (let y = 0; y < 2; y++) for (let x = 0; x < 2; x++) for (const half of [4, 8]) anchors.set([8 * x - half, 8 * y - half, 8 * x + half, 8 * y + half], 4 * k++);
      const rand = lcg(9);
      const clsValues = Array.from({ length: 8 * 2 }, () => rand() * 6 - 3);
      const regValues = Array.from({ length: 8 * 4 }, () => rand() - 0.5);
      const cls = tf.tensor4d(clsValues, [1, 2, 2, 4]);
      const reg = tf.tensor4d(regValues, [1, 2, 2, 8]);
      const out = retinaLoss(
        { cls: [cls], reg: [reg], anchors: [anchors], targets: [{ boxes: Float32Array.from([-3, -3, 5, 5]), labels: Int32Array.from([1]), ignoreBoxes: new Float32Array(0) }] },
        {
          numClasses: 2,
          posIouThr: 0.5,
          negIouThr: 0.4,
          lowQualityStyle: 'mmdet',
          ignoreIofThr: 0.5,
          coder: new DeltaXYWHCoder(),
          focus: new ProgressiveFocus(resolveHpfOptions(false, { gamma: 2, alpha: 0.25 })),
          smoothL1Beta: beta,
          bboxLossWeight: 1,
        },
      );
      let clsRef = 0;
      for (let i = 0; i < 8; i++) for (let c = 0; c < 2; c++) clsRef += focal64(clsValues[2 * i + c]!, i === 0 && c === 1 ? 1 : 0);
      const bboxRef = [0.125, 0.125, 0, 0].reduce((s, t, j) => {
        const d = Math.abs(regValues[j]! - t);
        return s + (beta === 0 ? d : d < beta ? (0.5 * d * d) / beta : d - 0.5 * beta);
      }, 0);
      expect(out.stats.numPositives).toBe(1);
      expect(out.losses.loss_cls!.dataSync()[0]).toBeCloseTo(clsRef, 5);
      expect(out.losses.loss_bbox!.dataSync()[0]).toBeCloseTo(bboxRef, 5);
      tf.dispose([cls, reg, out.total, ...Object.values(out.losses)]);
    });
  }
});
