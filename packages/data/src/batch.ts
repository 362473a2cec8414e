import * as tf from '@tensorflow/tfjs-core';
import type { DetectorImageMeta, DetectorTarget } from '@hpf/dense';
import { loadImage, type CocoDataset } from './coco-dataset.js';
import { checkScaleJitter, colorJitterRanges, drawColorJitter, drawScalePlacement, type ColorJitterOptions, type SampleAugmentation } from './augment.js';
import { flipImageHorizontal } from './image.js';
import { boxesToCanvas, clipBoxesToCanvas, flipBoxesHorizontal, letterboxGeometry, pasteIntoCanvas, resampleVisible, scaledGeometry } from './letterbox.js';
import { applyColorJitter } from './photometric.js';
import { permutation, seededGenerator, uniform01 } from './shuffle.js';

/**
 * Pixel normalisation of batch images. `'unit'`: value / 255, so 0..1 (the default).
 * `{ mean, std }`: (value - mean) / std per RGB channel, mean and std in 0..255 units (e.g.
 * ImageNet's mean [123.675, 116.28, 103.53], std [58.395, 57.12, 57.375]).
 * Padding is 0 after normalisation: black for `'unit'`, the mean colour for mean/std (as
 * mmdetection pads after Normalize).
 */
export type Normalization = 'unit' | { mean: [number, number, number]; std: [number, number, number] };

/** Ground truth of one batch image, in the letterboxed (network input) image's pixels: @hpf/dense's `DetectorTarget`. */
export type DetectionTarget = DetectorTarget;

/** How a batch image relates to its source, to map predictions back (`boxesToOriginal`, from @hpf/dense). */
export interface ImageMeta extends DetectorImageMeta {
  imageId: number;
  fileName: string;
  /** Scale and colour jitter the image got (absent without augmentation); under scale jitter the offset can be negative (a crop). */
  augmentation?: SampleAugmentation;
}

export interface DetectionBatch {
  /** `[N, H, W, 3]` float32, normalised as chosen. Owned by the caller: dispose it. */
  images: tf.Tensor4D;
  targets: DetectionTarget[];
  meta: ImageMeta[];
}

/** One prepared image on plain typed arrays (no tensors). */
export interface PreparedSample {
  /** `H * W * 3` float32, normalised, NHWC order. */
  pixels: Float32Array;
  target: DetectionTarget;
  meta: ImageMeta;
}

export interface SampleOptions {
  /** Side of the square network input. */
  inputSize: number;
  flip: boolean;
  normalization?: Normalization;
  /** Scale and colour jitter (drawn by the loader's plan); absent: plain letterbox. */
  augment?: SampleAugmentation;
}

/**
 * Decodes image `index` of the dataset, optionally flips it, letterboxes it (resized by the scale
 * jitter, if any), applies the colour jitter (if any) to the image area in 0..255 units, and
 * normalises it; padding is 0 after normalisation. Under scale jitter boxes are clipped to the
 * input and boxes with no area left are dropped with their labels (crowd boxes likewise).
 */
export function prepareSample(dataset: CocoDataset, index: number, options: SampleOptions): PreparedSample {
  const entry = dataset.images[index];
  if (!entry) throw new Error(`prepareSample: index ${index} out of range (dataset has ${dataset.images.length} images)`);
  let image = loadImage(dataset, entry);
  let boxes = entry.boxes;
  let ignoreBoxes = entry.ignoreBoxes;
  if (options.flip) {
    image = flipImageHorizontal(image);
    boxes = flipBoxesHorizontal(boxes, entry.width);
    ignoreBoxes = flipBoxesHorizontal(ignoreBoxes, entry.width);
  }
  const { inputSize, augment } = options;
  const geometry = augment?.scale === undefined
    ? letterboxGeometry(image.width, image.height, inputSize, inputSize)
    : scaledGeometry(image.width, image.height, inputSize, inputSize, augment.scale);
  const visible = resampleVisible(image, geometry);
  if (augment?.color !== undefined) applyColorJitter(visible, augment.color, 255);
  normalizeInPlace(visible.data, options.normalization ?? 'unit');
  const pixels = pasteIntoCanvas(visible, geometry, 0).data;
  let target: DetectionTarget = {
    boxes: boxesToCanvas(boxes, geometry),
    labels: entry.labels.slice(),
    ignoreBoxes: boxesToCanvas(ignoreBoxes, geometry),
  };
  if (augment?.scale !== undefined) {
    // A crop can cut boxes: they are clipped to the input, and those with nothing left are dropped.
    const kept = clipBoxesToCanvas(target.boxes, inputSize, inputSize);
    target = {
      boxes: kept.boxes,
      labels: Int32Array.from(kept.kept, (k) => target.labels[k]!),
      ignoreBoxes: clipBoxesToCanvas(target.ignoreBoxes, inputSize, inputSize).boxes,
    };
  }
  const meta: ImageMeta = {
    imageId: entry.id,
    fileName: entry.fileName,
    originalSize: { width: entry.width, height: entry.height },
    scale: geometry.scale,
    offset: geometry.offset,
    flipped: options.flip,
  };
  if (augment !== undefined) meta.augmentation = augment;
  return { pixels, target, meta };
}

/** Normalises an image area (interleaved RGB, 0..255) in place. */
function normalizeInPlace(pixels: Float32Array, normalization: Normalization): void {
  let mean = [0, 0, 0];
  let invStd = [1 / 255, 1 / 255, 1 / 255];
  if (normalization !== 'unit') {
    if (normalization.mean?.length !== 3 || normalization.std?.length !== 3 || normalization.std.some((s) => !(s > 0))) {
      throw new Error('normalization must be "unit" or { mean: [r, g, b], std: [r, g, b] } with positive std');
    }
    mean = normalization.mean;
    invStd = normalization.std.map((s) => 1 / s);
  }
  for (let p = 0; p < pixels.length; p += 3) {
    for (let c = 0; c < 3; c++) pixels[p + c] = (pixels[p + c]! - mean[c]!) * invStd[c]!;
  }
}

/** Stacks prepared samples into a batch; only here does a tensor get created (caller disposes). */
export function collateBatch(samples: PreparedSample[], inputSize: number): DetectionBatch {
  if (samples.length === 0) throw new Error('collateBatch: no samples');
  const plane = inputSize * inputSize * 3;
  const data = new Float32Array(samples.length * plane);
  samples.forEach((s, i) => {
    if (s.pixels.length !== plane) throw new Error(`collateBatch: sample ${i} (image id ${s.meta.imageId}) has ${s.pixels.length} values, expected ${plane}`);
    data.set(s.pixels, i * plane);
  });
  return {
    images: tf.tensor4d(data, [samples.length, inputSize, inputSize, 3], 'float32'),
    targets: samples.map((s) => s.target),
    meta: samples.map((s) => s.meta),
  };
}

export interface BatchLoaderOptions {
  batchSize: number;
  /** Side of the square network input, e.g. 128. */
  inputSize: number;
  /** Seed of the shuffle and flip draws (default 0). */
  seed?: number;
  /** Shuffle each epoch (default true). */
  shuffle?: boolean;
  /** Probability of a horizontal flip per image (default 0.5; use 0 for evaluation). */
  flipProbability?: number;
  /** Drop the last incomplete batch (default false). */
  dropLast?: boolean;
  normalization?: Normalization;
  /**
   * Scale jitter `[min, max]` (e.g. `[0.5, 1.5]`; default off): each image is resized to a factor
   * drawn uniformly from the range times its letterbox size and placed at a random position in
   * the `inputSize` square, cropped where larger, padded where smaller.
   */
  scaleJitter?: [number, number];
  /** Colour jitter as torchvision's `ColorJitter` (default off), e.g. `{ brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1 }`. */
  colorJitter?: ColorJitterOptions;
}

const LOADER_OPTIONS = new Set(['batchSize', 'inputSize', 'seed', 'shuffle', 'flipProbability', 'dropLast', 'normalization', 'scaleJitter', 'colorJitter']);

/** Which images (dataset indices), flips and augmentations make up one batch. */
export interface BatchPlan {
  indices: number[];
  flips: boolean[];
  /** Per image, with scale or colour jitter on (absent when both are off). */
  augment?: SampleAugmentation[];
}

export interface BatchLoader {
  readonly batchesPerEpoch: number;
  /** The epoch's batches as indices, flips and augmentations: a pure function of (seed, epoch). */
  plan(epoch: number): BatchPlan[];
  /** Loads one planned batch. The returned `images` tensor is the caller's to dispose. */
  load(plan: BatchPlan): DetectionBatch;
  /** Yields the epoch's batches in order; each `images` tensor is the caller's to dispose. */
  epoch(epoch: number): Generator<DetectionBatch, void, undefined>;
}

/**
 * Seeded batching over a dataset. Epoch `e` draws from its own generator stream (seed, e), first
 * the permutation, then one flip draw per position, then (with scale or colour jitter on) per
 * position the scale draws and the colour draws, so the order, flips and augmentations of an epoch
 * are the same however many epochs ran before it, and a batch is the same whether the run was
 * resumed or not. With both jitters off the draws (and so the batches) are the flip-only ones.
 * Images are decoded when a batch is loaded.
 */
export function createBatchLoader(dataset: CocoDataset, options: BatchLoaderOptions): BatchLoader {
  for (const key of Object.keys(options)) {
    if (!LOADER_OPTIONS.has(key)) throw new Error(`createBatchLoader: unknown option "${key}"`);
  }
  const { batchSize, inputSize } = options;
  const seed = options.seed ?? 0;
  const shuffle = options.shuffle ?? true;
  const flipProbability = options.flipProbability ?? 0.5;
  const dropLast = options.dropLast ?? false;
  if (!Number.isInteger(batchSize) || batchSize <= 0) throw new Error(`createBatchLoader: option batchSize must be a positive integer, got ${batchSize}`);
  if (!Number.isInteger(inputSize) || inputSize <= 0) throw new Error(`createBatchLoader: option inputSize must be a positive integer, got ${inputSize}`);
  if (!Number.isInteger(seed)) throw new Error(`createBatchLoader: option seed must be an integer, got ${seed}`);
  if (!(flipProbability >= 0 && flipProbability <= 1)) throw new Error(`createBatchLoader: option flipProbability must be in [0, 1], got ${flipProbability}`);
  const scaleJitter = options.scaleJitter === undefined ? undefined : checkScaleJitter(options.scaleJitter, 'createBatchLoader: option scaleJitter');
  const colorRanges = options.colorJitter === undefined ? undefined : colorJitterRanges(options.colorJitter, 'createBatchLoader: option colorJitter');
  const colorOn = colorRanges !== undefined && Object.values(colorRanges).some((r) => r !== null);
  const n = dataset.images.length;
  if (n === 0) throw new Error(`createBatchLoader: dataset ${dataset.annotationFile} has no images`);
  const batchesPerEpoch = dropLast ? Math.floor(n / batchSize) : Math.ceil(n / batchSize);
  if (batchesPerEpoch === 0) throw new Error(`createBatchLoader: dropLast with batchSize ${batchSize} > ${n} images leaves no batch`);

  const plan = (epoch: number): BatchPlan[] => {
    const rng = seededGenerator(seed, epoch);
    const order = shuffle ? permutation(n, rng) : Int32Array.from({ length: n }, (_, i) => i);
    const flips = Array.from(order, () => flipProbability > 0 && uniform01(rng) < flipProbability);
    const augment =
      scaleJitter === undefined && !colorOn
        ? undefined
        : Array.from(order, (): SampleAugmentation => {
            const a: SampleAugmentation = {};
            if (scaleJitter !== undefined) a.scale = drawScalePlacement(scaleJitter, rng);
            if (colorOn) a.color = drawColorJitter(colorRanges!, rng);
            return a;
          });
    const plans: BatchPlan[] = [];
    for (let b = 0; b < batchesPerEpoch; b++) {
      const from = b * batchSize;
      const to = Math.min(from + batchSize, n);
      const p: BatchPlan = { indices: Array.from(order.subarray(from, to)), flips: flips.slice(from, to) };
      if (augment !== undefined) p.augment = augment.slice(from, to);
      plans.push(p);
    }
    return plans;
  };
  const load = (p: BatchPlan): DetectionBatch =>
    collateBatch(
      p.indices.map((index, i) => {
        const sample: SampleOptions = { inputSize, flip: p.flips[i]!, normalization: options.normalization ?? 'unit' };
        const augmentation = p.augment?.[i];
        if (augmentation !== undefined) sample.augment = augmentation;
        return prepareSample(dataset, index, sample);
      }),
      inputSize,
    );
  return {
    batchesPerEpoch,
    plan,
    load,
    *epoch(epoch: number) {
      for (const p of plan(epoch)) yield load(p);
    },
  };
}
