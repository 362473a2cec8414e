import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DetectorImageMeta } from '@hpf/fpn';
import { createTood, type ToodHeadOutput } from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

// 64 x 64 input: P3..P7 maps of 8, 4, 2, 1, 1. The head output is replaced by hand: every score
// logit -10 except class 2 at level 1, cell (y = 2, x = 1), +3; the aligned box there is
// [40, 10, 12, 70] in pixels (inverted in x by the offset alignment, beyond the input in y).
const SIZES = [8, 4, 2, 1, 1];
const C = 4;
function handMadeOutput(): ToodHeadOutput {
  const cls = SIZES.map((s, l) => {
    const v = new Float32Array(s * s * C).fill(-10);
    if (l === 1) v[(2 * s + 1) * C + 2] = 3;
    return tf.tensor4d(v, [1, s, s, C]);
  });
  const boxes = SIZES.map((s, l) => {
    const v = new Float32Array(s * s * 4);
    if (l === 1) v.set([40, 10, 12, 70], (2 * s + 1) * 4);
    return tf.tensor4d(v, [1, s, s, 4]);
  });
  return { cls, boxes };
}

describe('TOOD predict', () => {
  it('scores sigmoid(logit of the aligned score); boxes with ordered corners, clipped; original pixels', async () => {
    const det = createTood({ numClasses: C, backbone: 'resnet10-mini', neckChannels: 32, featChannels: 32, stackedConvs: 2 });
    det.model.forward = handMadeOutput;
    const images = tf.zeros([1, 64, 64, 3]) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const [dets] = await det.predict(images);
    expect(dets).toHaveLength(1);
    const d = dets![0]!;
    expect(d.label).toBe(2);
    expect(d.score).toBeCloseTo(1 / (1 + Math.exp(-3)), 6);
    expect(d.box.map((v) => +v.toFixed(4))).toEqual([12, 10, 40, 64]);
    const meta: DetectorImageMeta = { originalSize: { width: 200, height: 100 }, scale: [0.32, 0.32], offset: [0, 16], flipped: true };
    const [mapped] = await det.predict(images, [meta]);
    const expected = [200 - 40 / 0.32, (10 - 16) / 0.32, 200 - 12 / 0.32, (64 - 16) / 0.32].map((v, i) => Math.min(Math.max(v, 0), i % 2 === 0 ? 200 : 100));
    mapped![0]!.box.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 3));
    expect(tf.memory().numTensors).toBe(before); // predict needs no priors: nothing stays
    expect(det.model.training).toBe(true);
    images.dispose();
    det.dispose();
  });

  it('a real forward pass (T-head, offset sampling) gives well-formed detections', async () => {
    const det = createTood({ numClasses: 3, backbone: 'resnet10-mini', neckChannels: 32, featChannels: 32, stackedConvs: 2, test: { scoreThreshold: 0 } });
    const images = tf.randomUniform([2, 64, 64, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const out = await det.predict(images);
    expect(out).toHaveLength(2);
    for (const dets of out) {
      expect(dets.length).toBeGreaterThan(0);
      for (const x of dets) {
        expect(x.box[2]).toBeGreaterThanOrEqual(x.box[0]);
        expect(x.box[3]).toBeGreaterThanOrEqual(x.box[1]);
        expect(x.box[3]).toBeLessThanOrEqual(64);
        expect(x.score).toBeGreaterThan(0);
        expect(x.score).toBeLessThan(1);
      }
    }
    images.dispose();
    det.dispose();
  });
});
