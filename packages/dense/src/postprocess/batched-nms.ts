import * as tf from '@tensorflow/tfjs-core';

function checkNmsInputs(where: string, boxes: tf.Tensor, scores: tf.Tensor, labels: tf.Tensor, iouThreshold: number): number {
  if (boxes.rank !== 2 || boxes.shape[1] !== 4) throw new Error(`${where}: boxes must have shape [K, 4], got [${boxes.shape.join(', ')}]`);
  const k = boxes.shape[0]!;
  if (scores.rank !== 1 || scores.shape[0] !== k) throw new Error(`${where}: scores must have shape [${k}], got [${scores.shape.join(', ')}]`);
  if (labels.rank !== 1 || labels.shape[0] !== k) throw new Error(`${where}: labels must have shape [${k}], got [${labels.shape.join(', ')}]`);
  if (!(iouThreshold >= 0 && iouThreshold <= 1)) throw new Error(`${where}: iouThreshold must be in [0, 1], got ${iouThreshold}`);
  return k;
}

/**
 * Shifts each class's boxes into its own disjoint coordinate range so that one
 * class-agnostic NMS never compares boxes of different classes (torchvision's
 * batched_nms trick). The shift is label * (max - min + 1) rather than torchvision's
 * label * (max + 1), which also keeps classes apart when coordinates are negative.
 */
function offsetBoxesByLabel(boxes: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor2D {
  return tf.tidy(() => {
    const span = tf.add(tf.sub(tf.max(boxes), tf.min(boxes)), 1);
    const offsets = tf.mul(tf.cast(labels, 'float32'), span);
    return tf.add(boxes, tf.expandDims(offsets, 1));
  });
}

/**
 * Class-aware NMS: boxes [K, 4] (x1, y1, x2, y2), scores [K], labels [K] (integer classes).
 * Returns the kept indices (int32 [<= maxOutputSize]) in descending score order; equal
 * scores keep the lower index first. A box is suppressed by a higher-scored kept box of
 * the same label when their IoU >= iouThreshold (tfjs semantics; torchvision suppresses on
 * IoU > threshold, which differs only at exact equality). Caller owns the result.
 * tfjs reads boxes as (y1, x1, y2, x2); IoU is symmetric in x and y, so x-first boxes give
 * the same result without reordering.
 */
export async function batchedNms(
  boxes: tf.Tensor2D,
  scores: tf.Tensor1D,
  labels: tf.Tensor1D,
  iouThreshold: number,
  maxOutputSize?: number,
): Promise<tf.Tensor1D> {
  const k = checkNmsInputs('batchedNms', boxes, scores, labels, iouThreshold);
  if (k === 0) return tf.tensor1d([], 'int32');
  const shifted = offsetBoxesByLabel(boxes, labels);
  try {
    return await tf.image.nonMaxSuppressionAsync(shifted, scores, maxOutputSize ?? k, iouThreshold);
  } finally {
    shifted.dispose();
  }
}

/** Synchronous twin of {@link batchedNms} (blocks on a data read under GPU backends). */
export function batchedNmsSync(
  boxes: tf.Tensor2D,
  scores: tf.Tensor1D,
  labels: tf.Tensor1D,
  iouThreshold: number,
  maxOutputSize?: number,
): tf.Tensor1D {
  const k = checkNmsInputs('batchedNmsSync', boxes, scores, labels, iouThreshold);
  if (k === 0) return tf.tensor1d([], 'int32');
  return tf.tidy(() => tf.image.nonMaxSuppression(offsetBoxesByLabel(boxes, labels), scores, maxOutputSize ?? k, iouThreshold));
}
