import * as tf from '@tensorflow/tfjs-core';
import { expectVector, rejectUnknownKeys } from './checks.js';
import { checkReduceOptions, REDUCE_KEYS, reduceLoss, type ReduceOptions } from './reduce.js';

/**
 * Binary cross-entropy with logits, softplus(z) - z t elementwise (torch's
 * `binary_cross_entropy_with_logits`, finite for any finite logit): the centerness loss of FCOS and
 * ATSS and PAA's IoU-prediction loss, whose targets t in [0, 1] are soft.
 *
 * @param logits [N] float32 logits.
 * @param targets [N] float32 targets in [0, 1].
 * @returns a new tensor owned by the caller: [N] for reduction 'none', else a scalar.
 */
export function binaryCrossEntropyWithLogits(logits: tf.Tensor1D, targets: tf.Tensor1D, options: ReduceOptions = {}): tf.Tensor {
  const where = 'binaryCrossEntropyWithLogits';
  rejectUnknownKeys(options, REDUCE_KEYS, where);
  if (logits.rank !== 1) throw new Error(`${where}: logits must be a vector [N], got shape [${logits.shape.join(', ')}]`);
  expectVector(targets, logits.shape[0], 'targets', where);
  const { reduction } = checkReduceOptions(where, options);
  return tf.tidy(() => reduceLoss(tf.sub(tf.softplus(logits), tf.mul(logits, targets)), reduction, options.avgFactor));
}
