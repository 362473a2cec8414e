import * as tf from '@tensorflow/tfjs-core';

/**
 * float32 one-hot rows (all zero for an index outside [0, depth)). Built as int32 and cast because
 * the wasm backend's OneHot kernel (tfjs 4.22) ignores the dtype argument and writes the integer 1
 * into a float32 buffer, i.e. 1.4e-45.
 */
export function oneHotFloat(indices: tf.Tensor, depth: number): tf.Tensor {
  return tf.cast(tf.oneHot(indices, depth), 'float32');
}
