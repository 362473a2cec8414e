import * as tf from '@tensorflow/tfjs-core';

/**
 * float32 one-hot rows (all zero for an index outside [0, depth)). Built as int32 and cast because
 * the wasm backend's OneHot kernel (tfjs 4.22) ignores the dtype argument and writes the integer 1
 * into a float32 buffer, i.e. 1.4e-45.
 */
export function oneHotFloat(indices: tf.Tensor, depth: number): tf.Tensor {
  // tf.oneHot refuses depth 1 ("depth must be >= 2"); single-class detection needs it: the one
  // column is 1 exactly where the index is 0.
  if (depth === 1) return tf.tidy(() => tf.expandDims(tf.cast(tf.equal(indices, tf.scalar(0, indices.dtype)), 'float32'), -1));
  return tf.cast(tf.oneHot(indices, depth), 'float32');
}
