import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  expectDeltaZeroMatchesBaseline,
  expectFiniteHeadGradients,
  expectHpfChangesOnlyClassification,
  expectTargetErrors,
  lossBatch,
  SMALL_DETECTOR,
  type HpfSetting,
} from '@hpf/testkit';
import { createPaa } from '../src/index.js';
import { installTrainingKernels } from '@hpf/engine';

// The gradients computeLoss needs under tf.variableGrads (the trainer's set-up).
installTrainingKernels();

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const SMALL = SMALL_DETECTOR;
const make = (hpf: HpfSetting) => createPaa({ ...SMALL, octaveBaseScale: 2, hpf });

describe('PAA loss', () => {
  it('hpf { delta: 0 } gives the same loss as hpf: false (1e-6)', () => {
    const batch = lossBatch();
    expectDeltaZeroMatchesBaseline(make, batch, {
      terms: ['loss_cls', 'loss_bbox', 'loss_iou'],
      levels: { count: 5, focus: { gamma: 2, alpha: 0.25 } },
    });
    batch.images.dispose();
  });

  it('hpf: true changes only the classification term, and reports stats per level', () => {
    const batch = lossBatch();
    expectHpfChangesOnlyClassification(make, batch, {
      unchanged: ['loss_bbox', 'loss_iou'],
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
    expect(() => createPaa({ ...SMALL, topK: 9 } as never)).toThrow(/unknown option 'topK'/);
    expect(() => createPaa({ ...SMALL, numClasses: 0 })).toThrow(/numClasses/);
    expect(() => createPaa({ ...SMALL, topk: 0 })).toThrow(/topk/);
    expect(() => createPaa({ ...SMALL, octaveBaseScale: 0 })).toThrow(/octaveBaseScale/);
    expect(() => createPaa({ ...SMALL, hpf: { gama0: 2 } as never })).toThrow(/gama0/);
    const det = createPaa(SMALL);
    expectTargetErrors(det, 3);
    det.dispose();
  });
});
