import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, it } from 'vitest';
import { expectKnownAnswerPredict, expectWellFormedPredict, firingCellMaps } from '@hpf/testkit';
import { createTood, type ToodHeadOutput } from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

// 64 x 64 input: P3..P7 maps of 8, 4, 2, 1, 1. The head output is replaced by hand: every score
// logit -10 except class 2 at level 1, cell (y = 2, x = 1), +3; the aligned box there is
// [40, 10, 12, 70] in pixels (inverted in x by the offset alignment, beyond the input in y).
const C = 4;
const handMadeOutput = (): ToodHeadOutput => ({
  cls: firingCellMaps(C, -10, { channel: 2, values: [3] }),
  boxes: firingCellMaps(4, 0, { channel: 0, values: [40, 10, 12, 70] }),
});

describe('TOOD predict', () => {
  it('scores sigmoid(logit of the aligned score); boxes with ordered corners, clipped; original pixels', async () => {
    const det = createTood({ numClasses: C, backbone: 'resnet10-mini', neckChannels: 32, featChannels: 32, stackedConvs: 2 });
    // corners ordered and clipped to the input: [12, 10, 40, 64]; predict needs no priors, nothing stays
    await expectKnownAnswerPredict(det, handMadeOutput, { label: 2, score: 1 / (1 + Math.exp(-3)), box: [12, 10, 40, 64], keptTensors: 0 });
    det.dispose();
  });

  it('a real forward pass (T-head, offset sampling) gives well-formed detections', async () => {
    const det = createTood({ numClasses: 3, backbone: 'resnet10-mini', neckChannels: 32, featChannels: 32, stackedConvs: 2, test: { scoreThreshold: 0 } });
    await expectWellFormedPredict(det, 3);
    det.dispose();
  });
});
