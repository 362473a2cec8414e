import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, it } from 'vitest';
import type { DenseHeadOutput } from '@hpf/dense';
import { expectKnownAnswerPredict, expectWellFormedPredict, firingCellMaps } from '@hpf/testkit';
import { createAtss } from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

// The head output is replaced by hand-made logits: every class logit -10 except class 7 in the
// firing cell (level 1, stride 16, y = 2, x = 1), +3; centerness logits 0 (factor 0.5); deltas
// (0.5, -0.25, 0.5, -0.5) at that cell, 0 elsewhere.
const C = 10;
const handMadeOutput = (): DenseHeadOutput => ({
  cls: firingCellMaps(C, -10, { channel: 7, values: [3] }),
  reg: firingCellMaps(4, 0, { channel: 0, values: [0.5, -0.25, 0.5, -0.5] }),
  centerness: firingCellMaps(1, 0),
});

// The anchor of that cell (octaveBaseScale 2): side 32 centred at (16, 32). Decoding with stds
// (.1, .1, .2, .2): centre (16 + 32 * .05, 32 - 32 * .025) = (17.6, 31.2), size (32 e^.1, 32 e^-.1),
// clipped to the 64 x 64 input.
function expectedInputBox(): number[] {
  const [cx, cy, w, h] = [17.6, 31.2, 32 * Math.exp(0.1), 32 * Math.exp(-0.1)];
  return [Math.max(cx - w / 2, 0), cy - h / 2, Math.min(cx + w / 2, 64), cy + h / 2];
}

describe('ATSS predict', () => {
  it('decodes the one firing prior, in input pixels and in original pixels (letterbox + flip)', async () => {
    const det = createAtss({ numClasses: C, backbone: 'resnet10-mini', neckChannels: 32, featChannels: 32, stackedConvs: 1, octaveBaseScale: 2 });
    // score sigmoid(3) * sigmoid(0); the prior cache (5 levels + all) stays
    await expectKnownAnswerPredict(det, handMadeOutput, { label: 7, score: 0.5 / (1 + Math.exp(-3)), box: expectedInputBox(), keptTensors: 6 });
    det.dispose();
  });

  it('a real forward pass gives well-formed detections and leaves the model in training mode', async () => {
    const det = createAtss({ numClasses: 3, backbone: 'resnet10-mini', neckChannels: 32, featChannels: 32, stackedConvs: 1, test: { scoreThreshold: 0 } });
    await expectWellFormedPredict(det, 3);
    det.dispose();
  });
});
