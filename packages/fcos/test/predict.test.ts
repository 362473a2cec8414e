import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { finishDetections, PriorCache, type DenseHeadOutput } from '@hpf/dense';
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

  // Boxes are decoded on the CPU for the top-k points only; decoding every point with the coder's
  // tensor ops, as predict did before, must give the same detections.
  it('gives the detections of decoding every point with DistanceCoder', async () => {
    const det = createFcos({ numClasses: 3, backbone: 'resnet10-mini', neckChannels: 32, featChannels: 32, stackedConvs: 1, test: { scoreThreshold: 0, nmsPre: 60 } });
    const images = tf.randomUniform([2, 64, 64, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
    const got = await det.predict(images);
    const cache = new PriorCache(det.priorGenerator);
    det.model.eval();
    const levels = tf.tidy(() => {
      const out = det.model.forward(images);
      const priors = cache.get(out.cls.map((t) => [t.shape[1], t.shape[2]] as const));
      return out.cls.map((cls, l) => {
        const [n, h, w] = cls.shape;
        const m = h * w;
        const scores = tf.mul(tf.sigmoid(tf.reshape(cls, [n, m, 3])), tf.sigmoid(tf.reshape(out.centerness[l]!, [n, m, 1]))) as tf.Tensor3D;
        const distances = tf.reshape(tf.relu(out.reg[l]!), [n, m, 4]);
        const boxes = det.coder.decode(priors.levels[l]!, distances, { stride: det.config.strides[l]!, maxShape: [64, 64] }) as tf.Tensor3D;
        return { scores, boxes };
      });
    });
    det.model.train();
    const want = await finishDetections(levels, undefined, det.config.test);
    expect(want.map((d) => d.length)).toEqual([100, 100]);
    expect(got).toEqual(want);
    tf.dispose([images, ...levels.flatMap((l) => [l.scores, l.boxes])]);
    cache.dispose();
    det.dispose();
  });
});
