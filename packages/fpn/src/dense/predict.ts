import type * as tf from '@tensorflow/tfjs-core';
import { postprocessBatch, type Detection, type PostprocessOptions } from '../postprocess/select-detections.js';
import type { DetectorImageMeta } from './types.js';

/**
 * Maps flat x1, y1, x2, y2 boxes from the network input to the original image: undo the letterbox
 * (x = (x_in - offset) / scale), clip to the original size, then undo a horizontal flip. The same
 * arithmetic as @hpf/data's `boxesToOriginal`.
 */
export function boxesToOriginalPixels(boxes: Float32Array, meta: DetectorImageMeta): Float32Array {
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

/** One detection mapped to the original image (see `boxesToOriginalPixels`). */
export function detectionToOriginal(d: Detection, meta: DetectorImageMeta): Detection {
  const b = boxesToOriginalPixels(Float32Array.from(d.box), meta);
  return { box: [b[0]!, b[1]!, b[2]!, b[3]!], score: d.score, label: d.label };
}

/**
 * Per-level batch scores [N, n_l, C] and decoded boxes [N, n_l, 4] -> detections per image
 * (mmdetection-style top-k, score threshold, class-aware NMS), in original pixels when `metas` are
 * given. Does not dispose its inputs.
 */
export async function finishDetections(
  levels: ReadonlyArray<{ scores: tf.Tensor3D; boxes: tf.Tensor3D }>,
  metas: readonly DetectorImageMeta[] | undefined,
  options: PostprocessOptions,
): Promise<Detection[][]> {
  const batch = levels[0]?.scores.shape[0] ?? 0;
  if (metas !== undefined && metas.length !== batch) throw new Error(`predict: got ${metas.length} metas for ${batch} images`);
  const perImage = await postprocessBatch(levels, options);
  return metas === undefined ? perImage : perImage.map((dets, i) => dets.map((d) => detectionToOriginal(d, metas[i]!)));
}
