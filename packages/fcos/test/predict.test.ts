import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DenseHeadOutput, DetectorImageMeta } from '@hpf/fpn';
import { createFcos } from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

// 64 x 64 input: P3..P7 maps of 8, 4, 2, 1, 1, one point per location at ((x + .5) s, (y + .5) s).
// Every class logit is -10 except class 2 at level 1 (stride 16), cell (y = 2, x = 1), point
// (24, 40), which is +2; centerness logits +1 there (0 elsewhere); distances there (0.5, 1, 1.5, 0.25)
// strides, and -1 (ReLU'd to 0) elsewhere.
const SIZES = [8, 4, 2, 1, 1];
const C = 4;
function handMadeOutput(): DenseHeadOutput {
  const cell = (s: number) => 2 * s + 1;
  const cls = SIZES.map((s, l) => {
    const v = new Float32Array(s * s * C).fill(-10);
    if (l === 1) v[cell(s) * C + 2] = 2;
    return tf.tensor4d(v, [1, s, s, C]);
  });
  const reg = SIZES.map((s, l) => {
    const v = new Float32Array(s * s * 4).fill(-1);
    if (l === 1) v.set([0.5, 1, 1.5, 0.25], cell(s) * 4);
    return tf.tensor4d(v, [1, s, s, 4]);
  });
  const centerness = SIZES.map((s, l) => {
    const v = new Float32Array(s * s);
    if (l === 1) v[cell(s)] = 1;
    return tf.tensor4d(v, [1, s, s, 1]);
  });
  return { cls, reg, centerness };
}

describe('FCOS predict', () => {
  it('decodes the one firing point, in input pixels and in original pixels (letterbox + flip)', async () => {
    const det = createFcos({ numClasses: C, backbone: 'resnet10-mini', neckChannels: 32, featChannels: 32, stackedConvs: 1 });
    det.model.forward = handMadeOutput;
    const images = tf.zeros([1, 64, 64, 3]) as tf.Tensor4D;
    const [inInput] = await det.predict(images);
    expect(inInput).toHaveLength(1);
    const d = inInput![0]!;
    expect(d.label).toBe(2);
    expect(d.score).toBeCloseTo(1 / (1 + Math.exp(-2)) / (1 + Math.exp(-1)), 6);
    // (24, 40) - (8, 16) and + (24, 4) pixels
    const box = [16, 24, 48, 44];
    d.box.forEach((v, i) => expect(v).toBeCloseTo(box[i]!, 4));

    const meta: DetectorImageMeta = { originalSize: { width: 200, height: 100 }, scale: [0.32, 0.32], offset: [0, 16], flipped: true };
    const [inOriginal] = await det.predict(images, [meta]);
    const expected = [200 - 48 / 0.32, (24 - 16) / 0.32, 200 - 16 / 0.32, (44 - 16) / 0.32];
    inOriginal![0]!.box.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 3));
    images.dispose();
    det.dispose();
  });
});
