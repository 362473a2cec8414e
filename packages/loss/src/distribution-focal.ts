import * as tf from '@tensorflow/tfjs-core';
import { expectMatrix, expectVector, rejectUnknownKeys } from './checks.js';
import { oneHotFloat } from './one-hot.js';
import { checkReduceOptions, REDUCE_KEYS, reduceLoss, type ReduceOptions } from './reduce.js';

export interface DistributionFocalLossOptions extends ReduceOptions {
  /** [N] float32 weights; default all ones. */
  weights?: tf.Tensor1D;
}

/**
 * Distribution focal loss (GFL) as mmdetection's `distribution_focal_loss`: the cross-entropy of the
 * bin distribution against the two bins around the continuous target y,
 * DFL = -((y_r - y) log S(z)_l + (y - y_l) log S(z)_r), y_l = floor(y), y_r = y_l + 1.
 * The two-bin target is built with one-hot masks (no gather, so the gradient runs on wasm).
 *
 * @param logits [N, n + 1] bin logits.
 * @param targets [N] float32 distances in bin units, in [0, n].
 * @returns a new tensor owned by the caller: [N] for reduction 'none', else a scalar.
 */
export function distributionFocalLoss(
  logits: tf.Tensor2D,
  targets: tf.Tensor1D,
  options: DistributionFocalLossOptions = {},
): tf.Tensor {
  const where = 'distributionFocalLoss';
  rejectUnknownKeys(options, ['weights', ...REDUCE_KEYS], where);
  const [n, bins] = expectMatrix(logits, 'logits', where);
  expectVector(targets, n, 'targets', where);
  if (options.weights !== undefined) expectVector(options.weights, n, 'weights', where);
  const { reduction } = checkReduceOptions(where, options);
  return tf.tidy(() => {
    const left = tf.floor(targets);
    const leftIndex = tf.cast(left, 'int32');
    const leftWeight = tf.sub(tf.add(left, 1), targets);
    const rightWeight = tf.sub(targets, left);
    const twoBin = tf.add(
      tf.mul(oneHotFloat(leftIndex, bins), tf.expandDims(leftWeight, 1)),
      tf.mul(oneHotFloat(tf.add(leftIndex, tf.scalar(1, 'int32')), bins), tf.expandDims(rightWeight, 1)),
    );
    // z - logsumexp(z) rather than tf.logSoftmax, whose custom gradient leaks a tensor on wasm
    const logProbabilities = tf.sub(logits, tf.logSumExp(logits, 1, true));
    let loss: tf.Tensor = tf.neg(tf.sum(tf.mul(twoBin, logProbabilities), 1));
    if (options.weights !== undefined) loss = tf.mul(loss, options.weights);
    return reduceLoss(loss, reduction, options.avgFactor);
  });
}
