import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '@hpf/engine';
import { evaluateCoco, type CocoAnnotation, type CocoDetection, type CocoStats } from '@hpf/eval';
import { generateSplit, PRESETS } from '@hpf/digits-det';
import type { Detector, DetectorTarget } from '@hpf/fpn';

/**
 * A few quick-preset images with 2-3 clearly visible digits each (no partial digits, so every
 * digit in an image is annotated): small enough for a detector to overfit in seconds on wasm.
 */
export const OVERFIT_PRESET = {
  ...PRESETS.quick,
  minDigits: 2,
  maxDigits: 3,
  minInkHeight: 14,
  maxInkHeight: 48,
  maxPartials: 0,
  maxStrokesOver: 0,
};

export interface OverfitData {
  /** `[count * size * size * 3]`, pixels in [0, 1]. */
  pixels: Float32Array;
  size: number;
  count: number;
  targets: DetectorTarget[];
  /** The same objects as COCO ground truth (image ids 1..count, category id = digit + 1). */
  annotations: CocoAnnotation[];
}

/** `count` training images of digits-det (seed `seed`), as detector targets and COCO ground truth. */
export function overfitImages(count = 2, seed = 3): OverfitData {
  const images = [...generateSplit(OVERFIT_PRESET, 'train', seed, count)];
  const size = OVERFIT_PRESET.imageSize;
  const pixels = new Float32Array(images.length * size * size * 3);
  const targets: DetectorTarget[] = [];
  const annotations: CocoAnnotation[] = [];
  images.forEach((img, i) => {
    img.image.data.forEach((v, k) => (pixels[i * size * size * 3 + k] = v / 255));
    const objects = img.objects.filter((o) => o.annotated && o.bbox !== null);
    const xywh = objects.map((o) => o.bbox!);
    targets.push({
      boxes: Float32Array.from(xywh.flatMap(([x, y, w, h]) => [x, y, x + w, y + h])),
      labels: Int32Array.from(objects.map((o) => o.digit)),
      ignoreBoxes: new Float32Array(0),
    });
    objects.forEach((o, k) => {
      const [, , w, h] = xywh[k]!;
      annotations.push({ id: annotations.length + 1, image_id: i + 1, category_id: o.digit + 1, bbox: xywh[k]!, area: w * h, iscrowd: 0 });
    });
  });
  return { pixels, size, count: images.length, targets, annotations };
}

/** The wasm backend with the engine's training kernels: what users train on without a GPU. */
export async function useWasmTraining(): Promise<void> {
  registerWasmTrainingKernels();
  await tf.setBackend('wasm');
}

export interface OverfitOptions {
  steps: number;
  /** SGD learning rate with momentum 0.9 (default 0.01). */
  lr?: number;
  data?: OverfitData;
  /** Called before every step (e.g. a detector that needs the training progress). */
  beforeStep?: (step: number) => void;
}

export interface OverfitResult {
  /** COCO stats of the trained detector on its own training images. */
  stats: CocoStats;
  /** `tf.memory().numTensors` after each step. */
  tensorCounts: number[];
  /** Total loss after each step. */
  losses: number[];
}

/**
 * Trains `detector` on the overfit images for `steps` SGD steps, then evaluates it on the same
 * images. Disposes what it creates; the detector stays the caller's.
 */
export async function runOverfit(detector: Detector<unknown>, options: OverfitOptions): Promise<OverfitResult> {
  const data = options.data ?? overfitImages();
  const images = tf.tensor4d(data.pixels, [data.count, data.size, data.size, 3]);
  const optimizer = tf.train.momentum(options.lr ?? 0.01, 0.9);
  const variables = detector.trainableVariables();
  const tensorCounts: number[] = [];
  const losses: number[] = [];
  try {
    for (let step = 0; step < options.steps; step++) {
      options.beforeStep?.(step);
      const loss = optimizer.minimize(() => detector.computeLoss(images, data.targets).total, true, variables)!;
      losses.push(loss.dataSync()[0]!);
      loss.dispose();
      tensorCounts.push(tf.memory().numTensors);
    }
    const detections = await detector.predict(images);
    const results: CocoDetection[] = detections.flatMap((dets, i) =>
      dets.map((d) => ({
        image_id: i + 1,
        category_id: d.label + 1,
        bbox: [d.box[0], d.box[1], d.box[2] - d.box[0], d.box[3] - d.box[1]] as [number, number, number, number],
        score: d.score,
      })),
    );
    const dataset = {
      images: Array.from({ length: data.count }, (_, i) => ({ id: i + 1 })),
      annotations: data.annotations,
      categories: Array.from({ length: 10 }, (_, d) => ({ id: d + 1 })),
    };
    return { stats: evaluateCoco(dataset, results).stats, tensorCounts, losses };
  } finally {
    optimizer.dispose();
    images.dispose();
  }
}
