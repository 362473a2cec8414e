import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DenseHeadOutput, DetectorImageMeta } from '@hpf/fpn';
import { createFreeAnchor } from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

// 64 x 64 input: P3..P7 maps of 8, 4, 2, 1, 1, 9 anchors per location. Every class logit is -10
// except class 3 of anchor 4 (ratio 1, scale 2^(1/3): index ratio * 3 + scale) at level 1 (stride
// 16), cell (y = 2, x = 1), which is +3; its deltas are (1, -2, 1.5, -.5), all others 0.
const SIZES = [8, 4, 2, 1, 1];
const C = 5;
const A = 9;
function handMadeOutput(): DenseHeadOutput {
  const cls = SIZES.map((s, l) => {
    const v = new Float32Array(s * s * A * C).fill(-10);
    if (l === 1) v[((2 * s + 1) * A + 4) * C + 3] = 3;
    return tf.tensor4d(v, [1, s, s, A * C]);
  });
  const reg = SIZES.map((s, l) => {
    const v = new Float32Array(s * s * A * 4);
    if (l === 1) v.set([1, -2, 1.5, -0.5], ((2 * s + 1) * A + 4) * 4);
    return tf.tensor4d(v, [1, s, s, A * 4]);
  });
  return { cls, reg, centerness: [] };
}

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
    det.model.forward = handMadeOutput;
    const images = tf.zeros([1, 64, 64, 3]) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const [inInput] = await det.predict(images);
    expect(inInput).toHaveLength(1);
    const d = inInput![0]!;
    expect(d.label).toBe(3);
    expect(d.score).toBeCloseTo(1 / (1 + Math.exp(-3)), 6);
    const box = expectedInputBox();
    d.box.forEach((v, i) => expect(v).toBeCloseTo(box[i]!, 4));

    const meta: DetectorImageMeta = { originalSize: { width: 200, height: 100 }, scale: [0.32, 0.32], offset: [0, 16], flipped: true };
    const [inOriginal] = await det.predict(images, [meta]);
    const expected = [200 - box[2]! / 0.32, (box[1]! - 16) / 0.32, 200 - box[0]! / 0.32, (box[3]! - 16) / 0.32];
    inOriginal![0]!.box.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 3));
    expect(tf.memory().numTensors).toBe(before + 6); // only the prior cache (5 levels + all) stays
    expect(det.model.training).toBe(true);
    images.dispose();
    det.dispose();
  });
});
