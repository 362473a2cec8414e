import * as tf from '@tensorflow/tfjs-core';

/**
 * L1 and smooth-L1 box losses (mmdetection's L1Loss / SmoothL1Loss), for detectors that regress
 * encoded deltas (RetinaNet, FreeAnchor). @hpf/loss has no L1 family, so it lives with the dense
 * helpers. pred, target [M, 4]; optional per-element weights [M, 4]; the summed loss is divided by
 * `avgFactor`. Returns a new scalar the caller owns.
 */
export function l1BoxLoss(pred: tf.Tensor2D, target: tf.Tensor2D, avgFactor: number, beta = 0): tf.Scalar {
  if (pred.rank !== 2 || pred.shape[1] !== 4 || target.shape.join() !== pred.shape.join()) {
    throw new Error(`l1BoxLoss: pred and target must both be [M, 4], got [${pred.shape.join(', ')}] and [${target.shape.join(', ')}]`);
  }
  if (!(avgFactor > 0)) throw new Error(`l1BoxLoss: avgFactor must be > 0, got ${avgFactor}`);
  if (!(beta >= 0)) throw new Error(`l1BoxLoss: beta must be >= 0, got ${beta}`);
  return tf.tidy(() => {
    const diff = tf.abs(tf.sub(pred, target));
    // smooth L1: 0.5 d^2 / beta below beta, d - 0.5 beta above (beta 0 is plain L1).
    const elementwise = beta === 0 ? diff : tf.where(tf.less(diff, beta), tf.div(tf.mul(tf.square(diff), 0.5), beta), tf.sub(diff, 0.5 * beta));
    return tf.div(tf.sum(elementwise), avgFactor) as tf.Scalar;
  });
}
