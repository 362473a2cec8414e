import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, it } from 'vitest';
import type { DenseHeadOutput } from '@hpf/dense';
import { expectKnownAnswerPredict, expectWellFormedPredict, firingCellMaps } from '@hpf/testkit';
import { createFreeAnchor } from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

// 64 x 64 input: P3..P7 maps of 8, 4, 2, 1, 1, 9 anchors per location. Every class logit is -10
// except class 3 of anchor 4 (ratio 1, scale 2^(1/3): index ratio * 3 + scale) at level 1 (stride
// 16), cell (y = 2, x = 1), which is +3; its deltas are (1, -2, 1.5, -.5), all others 0.
const C = 5;
const A = 9;
const handMadeOutput = (): DenseHeadOutput => ({
  cls: firingCellMaps(A * C, -10, { channel: 4 * C + 3, values: [3] }),
  reg: firingCellMaps(A * 4, 0, { channel: 4 * 4, values: [1, -2, 1.5, -0.5] }),
  centerness: [],
});

// With octaveBaseScale 1 that anchor is a square of side 16 * 2^(1/3) centred at (16, 32); the
// deltas are scaled by the coder stds (.1, .1, .2, .2) before decoding.
function expectedInputBox(): number[] {
  const side = 16 * 2 ** (1 / 3);
  const [cx, cy, w, h] = [16 + side * 0.1, 32 - side * 0.2, side * Math.exp(0.3), side * Math.exp(-0.1)];
  return [Math.max(cx - w / 2, 0), cy - h / 2, cx + w / 2, cy + h / 2];
}

describe('FreeAnchor predict', () => {
  it('decodes the one firing anchor, in input pixels and in original pixels (letterbox + flip)', async () => {
    const det = createFreeAnchor({ numClasses: C, backbone: 'resnet10-mini', neckChannels: 32, featChannels: 32, stackedConvs: 1, octaveBaseScale: 1 });
    // the prior cache (5 levels + all) stays
    await expectKnownAnswerPredict(det, handMadeOutput, { label: 3, score: 1 / (1 + Math.exp(-3)), box: expectedInputBox(), keptTensors: 6 });
    det.dispose();
  });

  it('a real forward pass gives well-formed detections and leaves the model in training mode', async () => {
    const det = createFreeAnchor({ numClasses: 3, backbone: 'resnet10-mini', neckChannels: 32, featChannels: 32, stackedConvs: 1, test: { scoreThreshold: 0 } });
    await expectWellFormedPredict(det, 3);
    det.dispose();
  });
});
