import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, it } from 'vitest';
import type { DenseHeadOutput } from '@hpf/fpn';
import { expectKnownAnswerPredict, expectWellFormedPredict, firingCellMaps } from '@hpf/testkit';
import { createFcos } from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

// 64 x 64 input: P3..P7 maps of 8, 4, 2, 1, 1, one point per location at ((x + .5) s, (y + .5) s).
// Every class logit is -10 except class 2 at level 1 (stride 16), cell (y = 2, x = 1), point
// (24, 40), which is +2; centerness logits +1 there (0 elsewhere); distances there (0.5, 1, 1.5, 0.25)
// strides, and -1 (ReLU'd to 0) elsewhere.
const C = 4;
const handMadeOutput = (): DenseHeadOutput => ({
  cls: firingCellMaps(C, -10, { channel: 2, values: [2] }),
  reg: firingCellMaps(4, -1, { channel: 0, values: [0.5, 1, 1.5, 0.25] }),
  centerness: firingCellMaps(1, 0, { channel: 0, values: [1] }),
});

describe('FCOS predict', () => {
  it('decodes the one firing point, in input pixels and in original pixels (letterbox + flip)', async () => {
    const det = createFcos({ numClasses: C, backbone: 'resnet10-mini', neckChannels: 32, featChannels: 32, stackedConvs: 1 });
    // score sigmoid(2) * sigmoid(1); box (24, 40) - (8, 16) and + (24, 4) pixels; the prior cache (5 levels + all) stays
    const score = 1 / (1 + Math.exp(-2)) / (1 + Math.exp(-1));
    await expectKnownAnswerPredict(det, handMadeOutput, { label: 2, score, box: [16, 24, 48, 44], keptTensors: 6 });
    det.dispose();
  });

  it('a real forward pass gives well-formed detections and leaves the model in training mode', async () => {
    const det = createFcos({ numClasses: 3, backbone: 'resnet10-mini', neckChannels: 32, featChannels: 32, stackedConvs: 1, test: { scoreThreshold: 0 } });
    await expectWellFormedPredict(det, 3);
    det.dispose();
  });
});
