import * as tf from '@tensorflow/tfjs-core';

/**
 * GFL's Integral: bin logits [..., 4 (regMax + 1)] -> the expected distance of each side
 * [..., 4] in bins, sum_i i softmax(z)_i. The softmax is written as exp(z - logSumExp(z)) (tfjs's
 * logSoftmax gradient leaks a tensor on wasm). Returns a new tensor the caller owns.
 */
export function integralDistances(binLogits: tf.Tensor, regMax: number): tf.Tensor {
  const bins = regMax + 1;
  const shape = binLogits.shape;
  const last = shape[shape.length - 1]!;
  if (last !== 4 * bins) throw new Error(`integralDistances: last dimension must be 4 x ${bins} = ${4 * bins}, got ${last}`);
  return tf.tidy(() => {
    const z = tf.reshape(binLogits, [...shape.slice(0, -1), 4, bins]);
    const probabilities = tf.exp(tf.sub(z, tf.logSumExp(z, -1, true)));
    return tf.sum(tf.mul(probabilities, tf.range(0, bins, 1, 'float32')), -1);
  });
}
