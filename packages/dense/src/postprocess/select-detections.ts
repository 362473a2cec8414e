import * as tf from '@tensorflow/tfjs-core';
import { checkKnownOptions } from '../boxes/check-options.js';
import { batchedNmsArray } from './nms-array.js';
import { topPairs } from './score-order.js';

/** One pyramid level of one image's head output, after activation and box decoding. */
export interface LevelDetections {
  /** Class scores (probabilities, e.g. after sigmoid) [N_l, C]. */
  scores: tf.Tensor2D;
  /** Decoded boxes [N_l, 4] (x1, y1, x2, y2), one per prior. */
  boxes: tf.Tensor2D;
}

/** The same for a batch: scores [B, N_l, C], boxes [B, N_l, 4]. */
export interface BatchLevelDetections {
  scores: tf.Tensor3D;
  boxes: tf.Tensor3D;
}

export interface PostprocessOptions {
  /** Keep (prior, class) pairs with score > scoreThreshold. Default 0.05. */
  scoreThreshold?: number;
  /** Per level, keep at most this many top-scoring (prior, class) pairs before NMS; -1 for all. Default 1000. */
  nmsPre?: number;
  /** NMS IoU threshold (suppress at IoU >= threshold, same class only). Default 0.5. */
  iouThreshold?: number;
  /** Detections kept per image after NMS, highest scores first. Default 100. */
  maxPerImage?: number;
}

const KNOWN = ['scoreThreshold', 'nmsPre', 'iouThreshold', 'maxPerImage'] as const;

export interface Detection {
  box: [number, number, number, number];
  score: number;
  label: number;
}

/** Detections of one image as tensors (caller owns): boxes [K, 4], scores [K], labels int32 [K]. */
export interface DetectionTensors {
  boxes: tf.Tensor2D;
  scores: tf.Tensor1D;
  labels: tf.Tensor1D;
}

interface ResolvedOptions {
  scoreThreshold: number;
  nmsPre: number;
  iouThreshold: number;
  maxPerImage: number;
}

export function resolvePostprocessOptions(options: PostprocessOptions = {}): ResolvedOptions {
  const where = 'postprocess';
  checkKnownOptions(where, options, KNOWN);
  const o = {
    scoreThreshold: options.scoreThreshold ?? 0.05,
    nmsPre: options.nmsPre ?? 1000,
    iouThreshold: options.iouThreshold ?? 0.5,
    maxPerImage: options.maxPerImage ?? 100,
  };
  if (!Number.isFinite(o.scoreThreshold)) throw new Error(`${where}: option 'scoreThreshold' must be finite, got ${o.scoreThreshold}`);
  if (!(Number.isInteger(o.nmsPre) && (o.nmsPre > 0 || o.nmsPre === -1))) {
    throw new Error(`${where}: option 'nmsPre' must be a positive integer or -1, got ${o.nmsPre}`);
  }
  if (!(o.iouThreshold >= 0 && o.iouThreshold <= 1)) throw new Error(`${where}: option 'iouThreshold' must be in [0, 1], got ${o.iouThreshold}`);
  if (!(Number.isInteger(o.maxPerImage) && o.maxPerImage > 0)) {
    throw new Error(`${where}: option 'maxPerImage' must be a positive integer, got ${o.maxPerImage}`);
  }
  return o;
}

/**
 * One pyramid level of a batch, already on the CPU: what the selection reads. Boxes are asked for
 * only for the priors that survive the per-level top-k, so a caller can decode them lazily (as
 * torchvision and mmdetection decode after top-k) instead of decoding every prior.
 */
export interface LevelArrays {
  /** Class scores [B, numPriors, numClasses], row-major. */
  scores: Float32Array;
  numPriors: number;
  numClasses: number;
  /** Writes the box (x1, y1, x2, y2) of prior `prior` of image `image` to `out[offset..offset + 4)`. */
  boxOf(image: number, prior: number, out: Float32Array, offset: number): void;
}

/** Detections of one image as arrays: boxes [K * 4], scores [K], labels [K]. */
export interface DetectionArrays {
  boxes: Float32Array;
  scores: Float32Array;
  labels: Int32Array;
}

/**
 * One image's detections, mmdetection style (v2.18+/v3 `filter_scores_and_topk` +
 * `batched_nms`): per level, the (prior, class) pairs with score > scoreThreshold, at most
 * nmsPre of them by score; all levels pooled; class-aware NMS; the best maxPerImage kept.
 * A prior can yield several detections with different labels. Inputs are not disposed;
 * the returned tensors belong to the caller.
 */
export async function selectDetections(levels: readonly LevelDetections[], options: PostprocessOptions = {}): Promise<DetectionTensors> {
  const d = await selectImageArrays(levels, options);
  const n = d.scores.length;
  return {
    boxes: tf.tensor2d(d.boxes, [n, 4], 'float32'),
    scores: tf.tensor1d(d.scores, 'float32'),
    labels: tf.tensor1d(d.labels, 'int32'),
  };
}

async function selectImageArrays(levels: readonly LevelDetections[], options: PostprocessOptions): Promise<DetectionArrays> {
  const o = resolvePostprocessOptions(options);
  levels.forEach((level, l) => checkLevel('postprocess', l, level.scores, level.boxes, null));
  const arrays = await Promise.all(levels.map((level) => readLevel(level.scores.shape[0], level.scores.shape[1], level.scores, level.boxes)));
  return selectImage(arrays, 0, o);
}

function checkLevel(where: string, l: number, scores: tf.Tensor, boxes: tf.Tensor, batch: number | null): void {
  const lead = batch === null ? '' : `${batch}, `;
  const rank = batch === null ? 2 : 3;
  if (scores.rank !== rank || (batch !== null && scores.shape[0] !== batch)) {
    throw new Error(`${where}: level ${l} scores must have shape [${lead}N, C], got [${scores.shape.join(', ')}]`);
  }
  if (scores.dtype !== 'float32') throw new Error(`${where}: level ${l} scores must be float32, got ${scores.dtype}`);
  const n = scores.shape[rank - 2]!;
  if (boxes.rank !== rank || boxes.shape[rank - 2] !== n || boxes.shape[rank - 1] !== 4 || (batch !== null && boxes.shape[0] !== batch)) {
    throw new Error(`${where}: level ${l} boxes must have shape [${lead}${n}, 4], got [${boxes.shape.join(', ')}]`);
  }
}

// One read per tensor for the whole batch: per-image slices would cost a Slice kernel, a tensor
// and an async read each (80 of each for 8 images and 5 levels).
async function readLevel(numPriors: number, numClasses: number, scores: tf.Tensor, boxes: tf.Tensor): Promise<LevelArrays> {
  const [scoreData, boxData] = (await Promise.all([scores.data(), boxes.data()])) as [Float32Array, Float32Array];
  return {
    scores: scoreData,
    numPriors,
    numClasses,
    boxOf: (image, prior, out, offset) => {
      const at = 4 * (image * numPriors + prior);
      out[offset] = boxData[at]!;
      out[offset + 1] = boxData[at + 1]!;
      out[offset + 2] = boxData[at + 2]!;
      out[offset + 3] = boxData[at + 3]!;
    },
  };
}

/**
 * The selection for image `image` of levels already on the CPU (see {@link LevelArrays}); the
 * options as {@link resolvePostprocessOptions} returns them.
 */
function selectImage(levels: readonly LevelArrays[], image: number, o: ResolvedOptions): DetectionArrays {
  const k = o.nmsPre === -1 ? Infinity : o.nmsPre;
  const picks = levels.map((level) => {
    const size = level.numPriors * level.numClasses;
    const scores = level.scores.subarray(image * size, (image + 1) * size);
    return { level, scores, flat: topPairs(scores, o.scoreThreshold, k) };
  });
  const total = picks.reduce((s, p) => s + p.flat.length, 0);
  const boxes = new Float32Array(4 * total);
  const scores = new Float32Array(total);
  const labels = new Int32Array(total);
  let at = 0;
  for (const { level, scores: levelScores, flat } of picks) {
    const c = level.numClasses;
    for (let i = 0; i < flat.length; i++, at++) {
      const f = flat[i]!;
      const prior = Math.floor(f / c);
      scores[at] = levelScores[f]!;
      labels[at] = f - prior * c;
      level.boxOf(image, prior, boxes, 4 * at);
    }
  }

  // The candidates are already on the CPU, so NMS runs there too.
  const keep = batchedNmsArray(boxes, scores, labels, o.iouThreshold, o.maxPerImage);
  const n = keep.length;
  const kept: DetectionArrays = { boxes: new Float32Array(4 * n), scores: new Float32Array(n), labels: new Int32Array(n) };
  keep.forEach((i, r) => {
    kept.boxes.set(boxes.subarray(4 * i, 4 * i + 4), 4 * r);
    kept.scores[r] = scores[i]!;
    kept.labels[r] = labels[i]!;
  });
  return kept;
}

/** Reads detection tensors into plain objects (does not dispose them). */
export async function detectionsToArray(d: DetectionTensors): Promise<Detection[]> {
  const [boxes, scores, labels] = await Promise.all([d.boxes.data(), d.scores.data(), d.labels.data()]);
  return Array.from(scores, (score, i) => ({
    box: [boxes[4 * i]!, boxes[4 * i + 1]!, boxes[4 * i + 2]!, boxes[4 * i + 3]!],
    score,
    label: labels[i]!,
  }));
}

/** {@link selectDetections} as plain objects; no tensors are created. */
export async function postprocessImage(levels: readonly LevelDetections[], options: PostprocessOptions = {}): Promise<Detection[]> {
  return toDetections(await selectImageArrays(levels, options));
}

function toDetections(d: DetectionArrays): Detection[] {
  return Array.from(d.scores, (score, i) => ({
    box: [d.boxes[4 * i]!, d.boxes[4 * i + 1]!, d.boxes[4 * i + 2]!, d.boxes[4 * i + 3]!],
    score,
    label: d.labels[i]!,
  }));
}

/** Per-image detections of a batch (levels hold [B, N_l, C] scores and [B, N_l, 4] boxes). */
export async function postprocessBatch(levels: readonly BatchLevelDetections[], options: PostprocessOptions = {}): Promise<Detection[][]> {
  const o = resolvePostprocessOptions(options);
  if (levels.length === 0) throw new Error('postprocessBatch: needs at least one level');
  const batch = levels[0]!.scores.shape[0];
  levels.forEach((level, l) => checkLevel('postprocessBatch', l, level.scores, level.boxes, batch));
  const arrays = await Promise.all(levels.map((level) => readLevel(level.scores.shape[1], level.scores.shape[2], level.scores, level.boxes)));
  return postprocessArrays(arrays, batch, o);
}

/** Per-image detections of a batch whose levels are already on the CPU (see {@link LevelArrays}). */
export function postprocessArrays(levels: readonly LevelArrays[], batch: number, options: PostprocessOptions = {}): Detection[][] {
  const o = resolvePostprocessOptions(options);
  if (levels.length === 0) throw new Error('postprocessArrays: needs at least one level');
  levels.forEach((level, l) => {
    if (level.scores.length !== batch * level.numPriors * level.numClasses) {
      throw new Error(`postprocessArrays: level ${l} scores have length ${level.scores.length}, expected ${batch} x ${level.numPriors} x ${level.numClasses}`);
    }
  });
  return Array.from({ length: batch }, (_, b) => toDetections(selectImage(levels, b, o)));
}
