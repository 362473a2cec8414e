import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, it } from 'vitest';
import type { DenseHeadOutput } from '@hpf/dense';
import { expectKnownAnswerPredict, expectWellFormedPredict, firingCellMaps } from '@hpf/testkit';
import { createVfnet } from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

// The head output is replaced by hand-made logits: every class logit -10 except class 7 in the
// firing cell (level 1, stride 16, y = 2, x = 1), +3;
// box channels: initial sides 5 everywhere, refined sides (10, 6, 12, 20) at that cell, 5 elsewhere.
const C = 10;
const handMadeOutput = (): DenseHeadOutput => ({
  cls: firingCellMaps(C, -10, { channel: 7, values: [3] }),
  reg: firingCellMaps(8, 5, { channel: 0, values: [5, 5, 5, 5, 10, 6, 12, 20] }),
  centerness: [],
});

// VFNet decodes the refined sides around the cell's anchor centre (offset 0): (16, 32) -> box
// (16 - 10, 32 - 6, 16 + 12, 32 + 20) = (6, 26, 28, 52); score sigmoid(3) (no centerness).
function expectedInputBox(): number[] {
  return [6, 26, 28, 52];
}

describe('VFNet predict', () => {
  it('decodes the one firing prior, in input pixels and in original pixels (letterbox + flip)', async () => {
    const det = createVfnet({ numClasses: C, backbone: 'resnet10-mini', neckChannels: 32, featChannels: 32, stackedConvs: 1 });
    // in original pixels the bottom edge (52 - 16) / .32 = 112.5 is clipped to 100; the prior cache (5 levels + all) stays
    await expectKnownAnswerPredict(det, handMadeOutput, { label: 7, score: 1 / (1 + Math.exp(-3)), box: expectedInputBox(), keptTensors: 6 });
    det.dispose();
  });

  it('a real forward pass gives well-formed detections and leaves the model in training mode', async () => {
    const det = createVfnet({ numClasses: 3, backbone: 'resnet10-mini', neckChannels: 32, featChannels: 32, stackedConvs: 1, test: { scoreThreshold: 0 } });
    await expectWellFormedPredict(det, 3);
    det.dispose();
  });
});
