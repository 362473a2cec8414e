import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, it } from 'vitest';
import type { DenseHeadOutput } from '@hpf/dense';
import { expectKnownAnswerPredict, expectWellFormedPredict, firingCellMaps } from '@hpf/testkit';
import { createGfl } from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

// The head output is replaced by hand-made logits: every class logit -10 except class 7 in the
// firing cell (level 1, stride 16, y = 2, x = 1), +3;
// bin logits (regMax 4, 5 bins a side) 0 except at that cell: left bin 1 = 3, top bins 0 and 2 = 2,
// right bin 0 = 5, bottom all 0.
const C = 10;
const REG_MAX = 4;
const BINS = 4 * (REG_MAX + 1);
const SIDE_LOGITS = [
  [0, 3, 0, 0, 0],
  [2, 0, 2, 0, 0],
  [5, 0, 0, 0, 0],
  [0, 0, 0, 0, 0],
];
const handMadeOutput = (): DenseHeadOutput => ({
  cls: firingCellMaps(C, -10, { channel: 7, values: [3] }),
  reg: firingCellMaps(BINS, 0, { channel: 0, values: SIDE_LOGITS.flat() }),
  centerness: [],
});

// Expected side lengths: E[bin] of each softmax (float64) times the stride 16, around the anchor
// centre (16, 32) of that cell (offset 0), clipped to the 64 x 64 input.
function expectedInputBox(): number[] {
  const [l, t, r, b] = SIDE_LOGITS.map((z) => {
    const e = z.map(Math.exp);
    const s = e.reduce((a, v) => a + v, 0);
    return (16 * e.reduce((a, v, i) => a + i * v, 0)) / s;
  });
  return [Math.max(16 - l!, 0), Math.max(32 - t!, 0), Math.min(16 + r!, 64), Math.min(32 + b!, 64)];
}

describe('GFL predict', () => {
  it('decodes the one firing prior, in input pixels and in original pixels (letterbox + flip)', async () => {
    const det = createGfl({ numClasses: C, backbone: 'resnet10-mini', neckChannels: 32, featChannels: 32, stackedConvs: 1, regMax: REG_MAX });
    // the prior cache (5 levels + all) stays
    await expectKnownAnswerPredict(det, handMadeOutput, { label: 7, score: 1 / (1 + Math.exp(-3)), box: expectedInputBox(), keptTensors: 6 });
    det.dispose();
  });

  it('a real forward pass gives well-formed detections and leaves the model in training mode', async () => {
    const det = createGfl({ numClasses: 3, backbone: 'resnet10-mini', neckChannels: 32, featChannels: 32, stackedConvs: 1, test: { scoreThreshold: 0 } });
    await expectWellFormedPredict(det, 3);
    det.dispose();
  });
});
