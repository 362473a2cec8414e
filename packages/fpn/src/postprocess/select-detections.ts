import * as tf from '@tensorflow/tfjs-core';
import { checkKnownOptions } from '../boxes/check-options.js';
import { batchedNmsArray } from './nms-array.js';

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
 * One image's detections, mmdetection style (v2.18+/v3 `filter_scores_and_topk` +
 * `batched_nms`): per level, the (prior, class) pairs with score > scoreThreshold, at most
 * nmsPre of them by score; all levels pooled; class-aware NMS; the best maxPerImage kept.
 * A prior can yield several detections with different labels. Inputs are not disposed;
 * the returned tensors belong to the caller.
 */
export async function selectDetections(levels: readonly LevelDetections[], options: PostprocessOptions = {}): Promise<DetectionTensors> {
  const d = await selectDetectionArrays(levels, options);
  const n = d.scores.length;
  return {
    boxes: tf.tensor2d(d.boxes, [n, 4], 'float32'),
    scores: tf.tensor1d(d.scores, 'float32'),
    labels: tf.tensor1d(d.labels, 'int32'),
  };
}

interface DetectionArrays {
  boxes: Float32Array;
  scores: Float32Array;
  labels: Int32Array;
}

async function selectDetectionArrays(levels: readonly LevelDetections[], options: PostprocessOptions): Promise<DetectionArrays> {
  const o = resolvePostprocessOptions(options);
  const parts: DetectionArrays[] = [];
  for (const [l, level] of levels.entries()) parts.push(await topCandidates(level, l, o));
  const boxes = concat(parts.map((p) => p.boxes), Float32Array);
  const scores = concat(parts.map((p) => p.scores), Float32Array);
  const labels = concat(parts.map((p) => p.labels), Int32Array);

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

async function topCandidates(level: LevelDetections, l: number, o: ResolvedOptions): Promise<DetectionArrays> {
  const { scores, boxes } = level;
  if (scores.rank !== 2) throw new Error(`postprocess: level ${l} scores must have shape [N, C], got [${scores.shape.join(', ')}]`);
  const [n, c] = scores.shape;
  if (scores.dtype !== 'float32') throw new Error(`postprocess: level ${l} scores must be float32, got ${scores.dtype}`);
  if (boxes.rank !== 2 || boxes.shape[0] !== n || boxes.shape[1] !== 4) {
    throw new Error(`postprocess: level ${l} boxes must have shape [${n}, 4], got [${boxes.shape.join(', ')}]`);
  }
  // Selection runs in JS on the read-back scores: measured ~8x faster than tf.topk on the cpu
  // backend (bench/postprocess.bench.ts), and deterministic on ties.
  const flatScores = (await scores.data()) as Float32Array;
  const picked = topPairs(flatScores, o.scoreThreshold, o.nmsPre === -1 ? Infinity : o.nmsPre);
  const count = picked.length;
  const priorIdx = new Int32Array(count);
  const labels = new Int32Array(count);
  const values = new Float32Array(count);
  picked.forEach((flat, i) => {
    priorIdx[i] = Math.floor(flat / c);
    labels[i] = flat % c;
    values[i] = flatScores[flat]!;
  });
  const boxData = (await boxes.data()) as Float32Array;
  const pickedBoxes = new Float32Array(4 * count);
  priorIdx.forEach((p, i) => pickedBoxes.set(boxData.subarray(4 * p, 4 * p + 4), 4 * i));
  return { boxes: pickedBoxes, scores: values, labels };
}

/**
 * Flat indices of the (at most k) highest scores above `scoreThreshold`, by descending score and
 * ascending index on ties (deterministic, unlike tf.topk). A size-k min-heap makes it O(n log k).
 */
export function topPairs(scores: Float32Array, scoreThreshold: number, k: number): Int32Array {
  // Compare in float32 as torch does (`scores > 0.05` on a float32 tensor), so a score stored
  // as float32(0.05) does not pass a 0.05 threshold.
  const threshold = Math.fround(scoreThreshold);
  const cap = Math.min(k, scores.length);
  const heapScore = new Float32Array(cap);
  const heapIndex = new Int32Array(cap);
  let size = 0;
  // Heap order: the root is the worst kept pair (lowest score; on equal scores the higher
  // index, which is always the later one since indices arrive in increasing order).
  const worse = (a: number, b: number) =>
    heapScore[a]! < heapScore[b]! || (heapScore[a] === heapScore[b] && heapIndex[a]! > heapIndex[b]!);
  const swap = (a: number, b: number) => {
    const s = heapScore[a]!;
    heapScore[a] = heapScore[b]!;
    heapScore[b] = s;
    const i = heapIndex[a]!;
    heapIndex[a] = heapIndex[b]!;
    heapIndex[b] = i;
  };
  for (let i = 0; i < scores.length; i++) {
    const v = scores[i]!;
    if (!(v > threshold)) continue;
    if (size < cap) {
      heapScore[size] = v;
      heapIndex[size] = i;
      for (let c = size++; c > 0; ) {
        const parent = (c - 1) >> 1;
        if (!worse(c, parent)) break;
        swap(c, parent);
        c = parent;
      }
    } else if (cap > 0 && v > heapScore[0]!) {
      heapScore[0] = v;
      heapIndex[0] = i;
      for (let p = 0; ; ) {
        const l = 2 * p + 1;
        const r = l + 1;
        let m = p;
        if (l < size && worse(l, m)) m = l;
        if (r < size && worse(r, m)) m = r;
        if (m === p) break;
        swap(p, m);
        p = m;
      }
    }
  }
  return heapIndex.slice(0, size).sort((a, b) => scores[b]! - scores[a]! || a - b);
}

function concat<T extends Float32Array | Int32Array>(parts: T[], Ctor: new (n: number) => T): T {
  const out = new Ctor(parts.reduce((s, p) => s + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
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
  const d = await selectDetectionArrays(levels, options);
  return Array.from(d.scores, (score, i) => ({
    box: [d.boxes[4 * i]!, d.boxes[4 * i + 1]!, d.boxes[4 * i + 2]!, d.boxes[4 * i + 3]!],
    score,
    label: d.labels[i]!,
  }));
}

/** Per-image detections of a batch (levels hold [B, N_l, C] scores and [B, N_l, 4] boxes). */
export async function postprocessBatch(levels: readonly BatchLevelDetections[], options: PostprocessOptions = {}): Promise<Detection[][]> {
  resolvePostprocessOptions(options);
  if (levels.length === 0) throw new Error('postprocessBatch: needs at least one level');
  const batch = levels[0]!.scores.shape[0];
  for (const [l, level] of levels.entries()) {
    if (level.scores.rank !== 3 || level.scores.shape[0] !== batch || level.boxes.rank !== 3 || level.boxes.shape[0] !== batch) {
      throw new Error(
        `postprocessBatch: level ${l} must have scores [${batch}, N, C] and boxes [${batch}, N, 4], got [${level.scores.shape.join(', ')}] and [${level.boxes.shape.join(', ')}]`,
      );
    }
  }
  const results: Detection[][] = [];
  for (let b = 0; b < batch; b++) {
    const perImage = tf.tidy(() =>
      levels.map((level) => ({
        scores: tf.squeeze(tf.slice(level.scores, [b, 0, 0], [1, -1, -1]), [0]) as tf.Tensor2D,
        boxes: tf.squeeze(tf.slice(level.boxes, [b, 0, 0], [1, -1, -1]), [0]) as tf.Tensor2D,
      })),
    );
    try {
      results.push(await postprocessImage(perImage, options));
    } finally {
      perImage.forEach((p) => tf.dispose([p.scores, p.boxes]));
    }
  }
  return results;
}
