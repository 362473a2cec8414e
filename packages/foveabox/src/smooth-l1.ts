import * as tf from '@tensorflow/tfjs-core';

/**
 * Smooth-L1 (mmdetection SmoothL1Loss): 0.5 d^2 / beta for d < beta, d - 0.5 beta above, d = |pred -
 * target|, summed and divided by `avgFactor`. Written as c (d - c / 2) / beta with c = min(d, beta),
 * which is the same function without a comparison op: @hpf/fpn's `l1BoxLoss` builds the two branches
 * with `tf.where(tf.less(...))`, and tfjs-core registers no gradient for `Less`, so its beta > 0
 * path cannot be differentiated (reported; this package works around it). Returns a new scalar.
 */
export function smoothL1Loss(pred: tf.Tensor2D, target: tf.Tensor2D, avgFactor: number, beta: number): tf.Scalar {
  if (pred.shape.join() !== target.shape.join()) throw new Error(`smoothL1Loss: pred [${pred.shape.join(', ')}] and target [${target.shape.join(', ')}] differ`);
  if (!(beta > 0)) throw new Error(`smoothL1Loss: beta must be > 0, got ${beta}`);
  if (!(avgFactor > 0)) throw new Error(`smoothL1Loss: avgFactor must be > 0, got ${avgFactor}`);
  return tf.tidy(() => {
    const d = tf.abs(tf.sub(pred, target));
    const c = tf.minimum(d, beta);
    return tf.div(tf.sum(tf.mul(c, tf.sub(d, tf.mul(c, 0.5)))), beta * avgFactor) as tf.Scalar;
  });
}
