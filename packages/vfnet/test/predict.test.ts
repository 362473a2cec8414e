import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DenseHeadOutput, DetectorImageMeta } from '@hpf/fpn';
import { createVfnet } from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

// A 64 x 64 input gives P3..P7 maps of 8, 4, 2, 1, 1. The head output is replaced by hand-made
// logits: every class logit -10 except class 7 at level 1 (stride 16), cell (y = 2, x = 1), +3;
// box channels: initial sides 5 everywhere, refined sides (10, 6, 12, 20) at that cell, 5 elsewhere.
const SIZES = [8, 4, 2, 1, 1];
const C = 10;
function handMadeOutput(): DenseHeadOutput {
  const cls = SIZES.map((s, l) => {
    const v = new Float32Array(s * s * C).fill(-10);
    if (l === 1) v[(2 * s + 1) * C + 7] = 3;
    return tf.tensor4d(v, [1, s, s, C]);
  });
  const reg = SIZES.map((s, l) => {
    const v = new Float32Array(s * s * 8).fill(5);
    if (l === 1) v.set([5, 5, 5, 5, 10, 6, 12, 20], (2 * s + 1) * 8);
    return tf.tensor4d(v, [1, s, s, 8]);
  });
  return { cls, reg, centerness: [] };
}

// VFNet decodes the refined sides around the cell's anchor centre (offset 0): (16, 32) -> box
// (16 - 10, 32 - 6, 16 + 12, 32 + 20) = (6, 26, 28, 52); score sigmoid(3) (no centerness).
function expectedInputBox(): number[] {
  return [6, 26, 28, 52];
}

describe('VFNet predict', () => {
  it('decodes the one firing prior, in input pixels and in original pixels (letterbox + flip)', async () => {
    const det = createVfnet({ numClasses: C, backbone: 'resnet10-mini', neckChannels: 32, featChannels: 32, stackedConvs: 1 });
    det.model.forward = handMadeOutput;
    const images = tf.zeros([1, 64, 64, 3]) as tf.Tensor4D;
    const before = tf.memory().numTensors;

    const [inInput] = await det.predict(images);
    expect(inInput).toHaveLength(1);
    const d = inInput![0]!;
    expect(d.label).toBe(7);
    expect(d.score).toBeCloseTo(1 / (1 + Math.exp(-3)), 6);
    const box = expectedInputBox();
    d.box.forEach((v, i) => expect(v).toBeCloseTo(box[i]!, 4));

    // A 200 x 100 original letterboxed into 64 x 64: scale 0.32, offset (0, 16); mirrored.
    const meta: DetectorImageMeta = { originalSize: { width: 200, height: 100 }, scale: [0.32, 0.32], offset: [0, 16], flipped: true };
    const [inOriginal] = await det.predict(images, [meta]);
    const o = inOriginal![0]!;
    const x1 = box[0]! / 0.32;
    const x2 = box[2]! / 0.32;
    // clipped to the 200 x 100 original: the bottom edge (52 - 16) / .32 = 112.5 becomes 100
    const expected = [200 - x2, (box[1]! - 16) / 0.32, 200 - x1, Math.min((box[3]! - 16) / 0.32, 100)];
    o.box.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 3));
    expect(o.label).toBe(7);
    expect(tf.memory().numTensors).toBe(before + 6); // only the prior cache (5 levels + all) stays
    expect(det.model.training).toBe(true);
    images.dispose();
    det.dispose();
  });

  it('a real forward pass gives well-formed detections and leaves the model in training mode', async () => {
    const det = createVfnet({ numClasses: 3, backbone: 'resnet10-mini', neckChannels: 32, featChannels: 32, stackedConvs: 1, test: { scoreThreshold: 0 } });
    const images = tf.randomUniform([2, 64, 64, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const out = await det.predict(images);
    expect(out).toHaveLength(2);
    for (const dets of out) {
      expect(dets.length).toBeGreaterThan(0);
      expect(dets.length).toBeLessThanOrEqual(100);
      for (const x of dets) {
        expect(x.label).toBeGreaterThanOrEqual(0);
        expect(x.label).toBeLessThan(3);
        expect(x.box[2]).toBeGreaterThanOrEqual(x.box[0]);
        expect(x.box[3]).toBeLessThanOrEqual(64);
      }
      for (let i = 1; i < dets.length; i++) expect(dets[i]!.score).toBeLessThanOrEqual(dets[i - 1]!.score);
    }
    expect(det.model.training).toBe(true);
    images.dispose();
    det.dispose();
  });
});
