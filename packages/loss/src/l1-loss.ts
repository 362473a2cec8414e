import * as tf from '@tensorflow/tfjs-core';

/**
 * L1 and smooth-L1 box losses (mmdetection's L1Loss / SmoothL1Loss), for detectors that regress
 * encoded deltas (RetinaNet, FoveaBox; FreeAnchor uses `smoothL1` inside its bag likelihood).
 * pred, target [M, 4]; the summed loss is divided by
 * `avgFactor`. Returns a new scalar the caller owns.
 */
export function l1BoxLoss(pred: tf.Tensor2D, target: tf.Tensor2D, avgFactor: number, beta = 0): tf.Scalar {
  if (pred.rank !== 2 || pred.shape[1] !== 4 || target.shape.join() !== pred.shape.join()) {
    throw new Error(`l1BoxLoss: pred and target must both be [M, 4], got [${pred.shape.join(', ')}] and [${target.shape.join(', ')}]`);
  }
  if (!(avgFactor > 0)) throw new Error(`l1BoxLoss: avgFactor must be > 0, got ${avgFactor}`);
  if (!(beta >= 0)) throw new Error(`l1BoxLoss: beta must be >= 0, got ${beta}`);
  return tf.tidy(() => {
    const elementwise = smoothL1(tf.abs(tf.sub(pred, target)), beta);
    return tf.div(tf.sum(elementwise), avgFactor) as tf.Scalar;
  });
}

/**
 * Elementwise smooth L1 of absolute differences `d`: 0.5 d^2 / beta below beta, d - 0.5 beta above;
 * beta 0 is plain L1. Written as 0.5 min(d, beta)^2 / beta + (d - min(d, beta)) because a
 * comparison (tf.less inside tf.where) has no registered gradient in tfjs-core, which breaks
 * tf.variableGrads. Returns a new tensor the caller owns.
 */
export function smoothL1<T extends tf.Tensor>(d: T, beta: number): T {
  if (beta === 0) return tf.clone(d);
  return tf.tidy(() => {
    const small = tf.minimum(d, beta);
    return tf.add(tf.div(tf.mul(tf.square(small), 0.5), beta), tf.sub(d, small)) as T;
  });
}
