import * as tf from '@tensorflow/tfjs-core';

/** Overlap measure of {@link alignedBoxIoU}. */
export type BoxOverlapMode = 'iou' | 'giou';

function assertBoxes(boxes: tf.Tensor, name: string): void {
  if (boxes.rank !== 2 || boxes.shape[1] !== 4) {
    throw new Error(`alignedBoxIoU: ${name} must have shape [N, 4] (x1, y1, x2, y2), got [${boxes.shape.join(', ')}]`);
  }
}

/** Splits [N, 4] boxes into four [N] coordinate columns. */
function columns(boxes: tf.Tensor2D): [tf.Tensor1D, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D] {
  const [x1, y1, x2, y2] = tf.unstack(boxes, 1) as tf.Tensor1D[];
  return [x1!, y1!, x2!, y2!];
}

/**
 * IoU (or GIoU) of box i in `boxes1` with box i in `boxes2`, for every i.
 *
 * Same arithmetic as mmdetection's `bbox_overlaps(..., is_aligned=True)`: box areas are not clamped
 * (a box with x2 < x1 has negative area), the intersection and enclosing extents are clamped at 0,
 * and both the union and the enclosing area are floored at `eps` so that zero-area boxes give a
 * finite value and gradient instead of 0/0. Differentiable with respect to both inputs; it uses
 * only elementwise ops, so its gradient runs on every backend (including wasm).
 *
 * @param boxes1 [N, 4] boxes as x1, y1, x2, y2.
 * @param boxes2 [N, 4] boxes as x1, y1, x2, y2.
 * @param mode 'iou' (default) or 'giou' (values in [-1, 1]).
 * @param eps floor of the union and of the enclosing area, default 1e-6.
 * @returns a new [N] tensor owned by the caller (dispose it). Intermediates are freed.
 */
export function alignedBoxIoU(
  boxes1: tf.Tensor2D,
  boxes2: tf.Tensor2D,
  mode: BoxOverlapMode = 'iou',
  eps = 1e-6,
): tf.Tensor1D {
  assertBoxes(boxes1, 'boxes1');
  assertBoxes(boxes2, 'boxes2');
  if (boxes1.shape[0] !== boxes2.shape[0]) {
    throw new Error(
      `alignedBoxIoU: boxes1 and boxes2 must have the same number of boxes, got ${boxes1.shape[0]} and ${boxes2.shape[0]}`,
    );
  }
  if (mode !== 'iou' && mode !== 'giou') {
    throw new Error(`alignedBoxIoU: mode must be 'iou' or 'giou', got '${String(mode)}'`);
  }
  if (!(eps > 0) || !Number.isFinite(eps)) {
    throw new Error(`alignedBoxIoU: eps must be a positive finite number, got ${eps}`);
  }
  return tf.tidy(() => {
    const a = columns(boxes1);
    const b = columns(boxes2);
    const area1 = tf.mul(tf.sub(a[2], a[0]), tf.sub(a[3], a[1]));
    const area2 = tf.mul(tf.sub(b[2], b[0]), tf.sub(b[3], b[1]));

    const interW = tf.relu(tf.sub(tf.minimum(a[2], b[2]), tf.maximum(a[0], b[0])));
    const interH = tf.relu(tf.sub(tf.minimum(a[3], b[3]), tf.maximum(a[1], b[1])));
    const overlap = tf.mul(interW, interH);
    const union = tf.maximum(tf.sub(tf.add(area1, area2), overlap), eps);
    const iou = tf.div(overlap, union);
    if (mode === 'iou') return iou as tf.Tensor1D;

    const encloseW = tf.relu(tf.sub(tf.maximum(a[2], b[2]), tf.minimum(a[0], b[0])));
    const encloseH = tf.relu(tf.sub(tf.maximum(a[3], b[3]), tf.minimum(a[1], b[1])));
    const enclose = tf.maximum(tf.mul(encloseW, encloseH), eps);
    return tf.sub(iou, tf.div(tf.sub(enclose, union), enclose)) as tf.Tensor1D;
  });
}
