import * as tf from '@tensorflow/tfjs-core';
import { checkMatrix } from './shape-checks.js';

/**
 * 'iou': intersection / union. 'iof': intersection / area of the first box (mmdetection's
 * "intersection over foreground"). 'giou': IoU - (enclosing area - union) / enclosing area.
 */
export type IoUMode = 'iou' | 'iof' | 'giou';

const MODES: readonly IoUMode[] = ['iou', 'iof', 'giou'];

export function checkEps(where: string, eps: number): void {
  if (!(eps > 0) || !Number.isFinite(eps)) throw new Error(`${where}: eps must be a positive finite number, got ${eps}`);
}

export function checkIoUMode(where: string, mode: string): asserts mode is IoUMode {
  if (!MODES.includes(mode as IoUMode)) throw new Error(`${where}: mode must be one of ${MODES.join(', ')}, got '${mode}'`);
}

/**
 * Pairwise overlaps of a [N, 4] and b [M, 4] -> [N, M] (float32, caller owns).
 * Denominators are clamped to `eps` as in mmdetection's bbox_overlaps, so degenerate
 * (zero-area) boxes give 0 instead of torchvision's 0/0 = NaN.
 */
export function boxIoU(a: tf.Tensor2D, b: tf.Tensor2D, mode: IoUMode = 'iou', eps = 1e-6): tf.Tensor2D {
  const where = 'boxIoU';
  checkMatrix(where, 'a', a, 4);
  checkMatrix(where, 'b', b, 4);
  checkIoUMode(where, mode);
  checkEps(where, eps);
  return tf.tidy(() => {
    const [ax1, ay1, ax2, ay2] = tf.unstack(a, 1).map((t) => tf.expandDims(t, 1)); // [N, 1]
    const [bx1, by1, bx2, by2] = tf.unstack(b, 1).map((t) => tf.expandDims(t, 0)); // [1, M]
    const areaA = tf.mul(tf.sub(ax2!, ax1!), tf.sub(ay2!, ay1!));
    const areaB = tf.mul(tf.sub(bx2!, bx1!), tf.sub(by2!, by1!));
    const interW = tf.relu(tf.sub(tf.minimum(ax2!, bx2!), tf.maximum(ax1!, bx1!)));
    const interH = tf.relu(tf.sub(tf.minimum(ay2!, by2!), tf.maximum(ay1!, by1!)));
    const inter = tf.mul(interW, interH);
    const union = mode === 'iof' ? tf.broadcastTo(areaA, inter.shape) : tf.sub(tf.add(areaA, areaB), inter);
    const safeUnion = tf.maximum(union, eps);
    const iou = tf.div(inter, safeUnion);
    if (mode !== 'giou') return iou as tf.Tensor2D;
    const encW = tf.relu(tf.sub(tf.maximum(ax2!, bx2!), tf.minimum(ax1!, bx1!)));
    const encH = tf.relu(tf.sub(tf.maximum(ay2!, by2!), tf.minimum(ay1!, by1!)));
    const enclose = tf.maximum(tf.mul(encW, encH), eps);
    return tf.sub(iou, tf.div(tf.sub(enclose, safeUnion), enclose)) as tf.Tensor2D;
  });
}
