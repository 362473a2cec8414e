import type * as tf from '@tensorflow/tfjs-core';
import { postprocessArrays, type Detection, type LevelArrays, type PostprocessOptions } from './select-detections.js';
import type { BoxDecoder } from './deferred-decode.js';
import type { DetectorImageMeta } from '../detector/types.js';

/** A level as `finishDetections` takes it: decoded boxes [N, n_l, 4], or a regression [N, n_l, 4] and its decoder. */
export type PredictLevel = { scores: tf.Tensor3D; boxes: tf.Tensor3D } | { scores: tf.Tensor3D; regression: tf.Tensor3D; decodeBox: BoxDecoder };

/**
 * Maps flat x1, y1, x2, y2 boxes from the network input to the original image: undo the letterbox
 * (x = (x_in - offset) / scale), clip to the original size, then undo a horizontal flip. The one
 * definition of this mapping: @hpf/data re-exports it for its batches' metas. New array.
 */
export function boxesToOriginal(boxes: Float32Array, meta: DetectorImageMeta): Float32Array {
  const { width, height } = meta.originalSize;
  const [sx, sy] = meta.scale;
  const [ox, oy] = meta.offset;
  const clip = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
  const out = new Float32Array(boxes.length);
  for (let i = 0; i < boxes.length; i += 4) {
    const x1 = clip((boxes[i]! - ox) / sx, width);
    const x2 = clip((boxes[i + 2]! - ox) / sx, width);
    out[i] = meta.flipped ? width - x2 : x1;
    out[i + 2] = meta.flipped ? width - x1 : x2;
    out[i + 1] = clip((boxes[i + 1]! - oy) / sy, height);
    out[i + 3] = clip((boxes[i + 3]! - oy) / sy, height);
  }
  return out;
}

/** One detection mapped to the original image (see `boxesToOriginal`). */
export function detectionToOriginal(d: Detection, meta: DetectorImageMeta): Detection {
  const b = boxesToOriginal(Float32Array.from(d.box), meta);
  return { box: [b[0]!, b[1]!, b[2]!, b[3]!], score: d.score, label: d.label };
}

/**
 * Per-level batch scores [N, n_l, C] and boxes -> detections per image (mmdetection-style top-k,
 * score threshold, class-aware NMS), in original pixels when `metas` are given. A level gives
 * either decoded boxes [N, n_l, 4] for every prior, or a regression [N, n_l, 4] and a decoder that
 * is called for the priors that survive the top-k only. Every tensor is read back once for the
 * whole batch. Does not dispose its inputs.
 */
export async function finishDetections(
  levels: readonly PredictLevel[],
  metas: readonly DetectorImageMeta[] | undefined,
  options: PostprocessOptions,
): Promise<Detection[][]> {
  if (levels.length === 0) throw new Error('predict: needs at least one level');
  const batch = levels[0]!.scores.shape[0];
  if (metas !== undefined && metas.length !== batch) throw new Error(`predict: got ${metas.length} metas for ${batch} images`);
  const arrays = await Promise.all(levels.map((level, l) => readLevel(level, l, batch)));
  const perImage = postprocessArrays(arrays, batch, options);
  return metas === undefined ? perImage : perImage.map((dets, i) => dets.map((d) => detectionToOriginal(d, metas[i]!)));
}

async function readLevel(level: PredictLevel, l: number, batch: number): Promise<LevelArrays> {
  const { scores } = level;
  const second = 'boxes' in level ? level.boxes : level.regression;
  const [, n, c] = scores.shape;
  if (scores.rank !== 3 || scores.shape[0] !== batch || scores.dtype !== 'float32') {
    throw new Error(`predict: level ${l} scores must be float32 [${batch}, N, C], got ${scores.dtype} [${scores.shape.join(', ')}]`);
  }
  if (second.rank !== 3 || second.shape[0] !== batch || second.shape[1] !== n || second.shape[2] !== 4) {
    throw new Error(`predict: level ${l} ${'boxes' in level ? 'boxes' : 'regression'} must have shape [${batch}, ${n}, 4], got [${second.shape.join(', ')}]`);
  }
  const [scoreData, secondData] = (await Promise.all([scores.data(), second.data()])) as [Float32Array, Float32Array];
  if ('boxes' in level) {
    return {
      scores: scoreData,
      numPriors: n,
      numClasses: c,
      boxOf: (image, prior, out, offset) => out.set(secondData.subarray(4 * (image * n + prior), 4 * (image * n + prior) + 4), offset),
    };
  }
  const { decodeBox } = level;
  return { scores: scoreData, numPriors: n, numClasses: c, boxOf: (image, prior, out, offset) => decodeBox(secondData, image, prior, out, offset) };
}
