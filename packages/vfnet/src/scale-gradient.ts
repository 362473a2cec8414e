import * as tf from '@tensorflow/tfjs-core';

/**
 * Identity in the forward pass whose gradient is multiplied by `factor`: mmdetection's
 * (1 - f) x.detach() + f x (f = 0 is `detach()`). tfjs has no stop-gradient op, so it is a
 * custom gradient. Returns a new tensor the caller owns.
 */
export function scaleGradient<T extends tf.Tensor>(x: T, factor: number): T {
  const op = tf.customGrad(((input: tf.Tensor) => ({
    value: tf.clone(input),
    gradFunc: (dy: tf.Tensor) => tf.mul(dy, factor),
  })) as Parameters<typeof tf.customGrad>[0]);
  return op(x) as T;
}
