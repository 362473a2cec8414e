import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import type { Detection, DetectorImageMeta } from '@hpf/dense';

/** P3..P7 map sizes of a 64 x 64 input (strides 8 to 128). */
export const LEVEL_SIZES_64 = [8, 4, 2, 1, 1] as const;

/**
 * The one cell that fires in the hand-made head outputs: level 1 (stride 16), y = 2, x = 1, whose
 * centre is (24, 40) and whose anchor-style origin (offset 0) is (16, 32).
 */
export const FIRING_CELL = { level: 1, y: 2, x: 1, stride: 16 } as const;

/**
 * Hand-made head output maps `[1, s, s, channels]` for a 64 x 64 input, every value `fill`, except
 * that `values` are written from channel `at.channel` on in FIRING_CELL.
 */
export function firingCellMaps(channels: number, fill: number, at?: { channel: number; values: readonly number[] }): tf.Tensor4D[] {
  if (at && at.channel + at.values.length > channels) throw new Error(`firingCellMaps: channels ${at.channel}..${at.channel + at.values.length - 1} do not fit in ${channels}`);
  return LEVEL_SIZES_64.map((s, l) => {
    const v = new Float32Array(s * s * channels).fill(fill);
    if (at && l === FIRING_CELL.level) v.set(at.values, (FIRING_CELL.y * s + FIRING_CELL.x) * channels + at.channel);
    return tf.tensor4d(v, [1, s, s, channels]);
  });
}

/** A 200 x 100 original letterboxed into 64 x 64 (scale 0.32, offset (0, 16)), then mirrored. */
export const LETTERBOX_FLIP_META: DetectorImageMeta = { originalSize: { width: 200, height: 100 }, scale: [0.32, 0.32], offset: [0, 16], flipped: true };

/** An input-pixel box under LETTERBOX_FLIP_META, in original pixels, clipped to the 200 x 100 original. */
export function letterboxFlipExpected(box: readonly number[]): number[] {
  const [x1, y1, x2, y2] = box as [number, number, number, number];
  const mapped = [200 - x2 / 0.32, (y1 - 16) / 0.32, 200 - x1 / 0.32, (y2 - 16) / 0.32];
  return mapped.map((v, i) => Math.min(Math.max(v, 0), i % 2 === 0 ? 200 : 100));
}

/** What the predict checks need of a detector. */
export interface PredictDetector<Output> {
  readonly model: { forward(input: tf.Tensor4D): Output; readonly training: boolean };
  predict(images: tf.Tensor4D, metas?: readonly DetectorImageMeta[]): Promise<Detection[][]>;
}

export interface KnownAnswer {
  label: number;
  /** Compared to 6 digits. */
  score: number;
  /** In input pixels, compared to 4 digits; in original pixels (letterbox + flip) to 3. */
  box: readonly number[];
  /** Tensors predict may leave behind: the prior cache (per level + all) or nothing. */
  keptTensors: number;
}

/**
 * Replaces the model's forward pass by `forward` (one firing prior) and requires predict on a zero
 * 64 x 64 image to return exactly that detection, in input pixels and, with LETTERBOX_FLIP_META, in
 * original pixels; predict leaves only `keptTensors` behind and the model in training mode.
 */
export async function expectKnownAnswerPredict<Output>(det: PredictDetector<Output>, forward: () => Output, want: KnownAnswer): Promise<void> {
  det.model.forward = forward;
  const images = tf.zeros([1, 64, 64, 3]) as tf.Tensor4D;
  try {
    const before = tf.memory().numTensors;
    const [inInput] = await det.predict(images);
    expect(inInput).toHaveLength(1);
    const d = inInput![0]!;
    expect(d.label).toBe(want.label);
    expect(d.score).toBeCloseTo(want.score, 6);
    expect(d.box).toHaveLength(4);
    d.box.forEach((v, i) => expect(v, `input box[${i}]`).toBeCloseTo(want.box[i]!, 4));

    const [inOriginal] = await det.predict(images, [LETTERBOX_FLIP_META]);
    expect(inOriginal).toHaveLength(1);
    const o = inOriginal![0]!;
    const expected = letterboxFlipExpected(want.box);
    o.box.forEach((v, i) => expect(v, `original box[${i}]`).toBeCloseTo(expected[i]!, 3));
    expect(o.label).toBe(want.label);
    expect(tf.memory().numTensors).toBe(before + want.keptTensors);
    expect(det.model.training).toBe(true);
  } finally {
    images.dispose();
  }
}

/**
 * A real forward pass (score threshold 0 expected in the detector's config) on two random 64 x 64
 * images: detections exist, at most 100 an image, labels in range, ordered corners inside the
 * input's bottom, scores in (0, 1) best first, and the model back in training mode.
 */
export async function expectWellFormedPredict<Output>(det: PredictDetector<Output>, numClasses: number): Promise<void> {
  const images = tf.randomUniform([2, 64, 64, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
  try {
    const out = await det.predict(images);
    expect(out).toHaveLength(2);
    for (const dets of out) {
      expect(dets.length).toBeGreaterThan(0);
      expect(dets.length).toBeLessThanOrEqual(100);
      for (const x of dets) {
        expect(x.label).toBeGreaterThanOrEqual(0);
        expect(x.label).toBeLessThan(numClasses);
        expect(x.box[2]).toBeGreaterThanOrEqual(x.box[0]);
        expect(x.box[3]).toBeGreaterThanOrEqual(x.box[1]);
        expect(x.box[3]).toBeLessThanOrEqual(64);
        expect(x.score).toBeGreaterThan(0);
        expect(x.score).toBeLessThan(1);
      }
      for (let i = 1; i < dets.length; i++) expect(dets[i]!.score).toBeLessThanOrEqual(dets[i - 1]!.score);
    }
    expect(det.model.training).toBe(true);
  } finally {
    images.dispose();
  }
}
