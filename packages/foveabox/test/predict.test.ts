import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, it } from 'vitest';
import type { DenseHeadOutput } from '@hpf/dense';
import { expectKnownAnswerPredict, expectWellFormedPredict, firingCellMaps } from '@hpf/testkit';
import { createFoveaBox } from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

// The head output is replaced by hand-made logits: every class logit -10 except class 7 in the
// firing cell (level 1, stride 16, y = 2, x = 1), +3;
// box outputs (0.5, -0.25, 0.2, -0.5) at that cell, 0 elsewhere.
const C = 10;
const handMadeOutput = (): DenseHeadOutput => ({
  cls: firingCellMaps(C, -10, { channel: 7, values: [3] }),
  reg: firingCellMaps(4, 0, { channel: 0, values: [0.5, -0.25, 0.2, -0.5] }),
  centerness: [],
});

// That cell's point is its centre (16 * 1.5, 16 * 2.5) = (24, 40), base edge 32 (published):
// (24 - 32 e^.5, 40 - 32 e^-.25, 24 + 32 e^.2, 40 + 32 e^-.5), clipped to the 64 x 64 input.
function expectedInputBox(): number[] {
  return [Math.max(24 - 32 * Math.exp(0.5), 0), 40 - 32 * Math.exp(-0.25), Math.min(24 + 32 * Math.exp(0.2), 64), 40 + 32 * Math.exp(-0.5)];
}

describe('FoveaBox predict', () => {
  it('decodes the one firing prior, in input pixels and in original pixels (letterbox + flip)', async () => {
    const det = createFoveaBox({ numClasses: C, backbone: 'resnet10-mini', neckChannels: 32, featChannels: 32, stackedConvs: 1 });
    // in original pixels the top edge (15.08 - 16) / .32 < 0 is clipped to 0; the prior cache (5 levels + all) stays
    await expectKnownAnswerPredict(det, handMadeOutput, { label: 7, score: 1 / (1 + Math.exp(-3)), box: expectedInputBox(), keptTensors: 6 });
    det.dispose();
  });

  it('a real forward pass gives well-formed detections and leaves the model in training mode', async () => {
    const det = createFoveaBox({ numClasses: 3, backbone: 'resnet10-mini', neckChannels: 32, featChannels: 32, stackedConvs: 1, test: { scoreThreshold: 0 } });
    await expectWellFormedPredict(det, 3);
    det.dispose();
  });
});
