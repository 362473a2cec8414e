import * as tf from '@tensorflow/tfjs-core';
import { expectMatrix, expectNumber, expectShape, expectVector, rejectUnknownKeys } from './checks.js';
import type { PriorValue } from './focal.js';
import { checkReduceOptions, REDUCE_KEYS, reduceLoss, type ReduceOptions } from './reduce.js';

/** VFL inputs (mmdetection's VFNet): an IoU-valued target per (prior, class). */
export interface VarifocalTargets {
  /** [N, C] float32 logits. */
  logits: tf.Tensor2D;
  /** [N, C] float32 target: the IoU at a positive's class, 0 elsewhere. */
  targets: tf.Tensor2D;
  /** [N] float32 per-prior weights (0 = ignore); default all ones. */
  weights?: tf.Tensor1D;
}

/** @internal */
export interface VarifocalTerms {
  /** softplus(z). */
  softplusLogits: tf.Tensor2D;
  /** [N, C] 1 where target > 0. */
  positiveEntries: tf.Tensor2D;
  /** [N, C] positive entries with weight > 0: the statistic's population. */
  countedEntries: tf.Tensor2D;
  /** [N, 1] prior weights. */
  priorWeights: tf.Tensor2D;
}

export function checkVarifocalTargets(input: VarifocalTargets, where: string): [number, number] {
  const [n, c] = expectMatrix(input.logits, 'logits', where);
  expectShape(input.targets, [n, c], 'targets', where);
  if (input.weights !== undefined) expectVector(input.weights, n, 'weights', where);
  return [n, c];
}

/** @internal */
export function varifocalTerms(input: VarifocalTargets): VarifocalTerms {
  const n = input.logits.shape[0];
  const weights = input.weights ?? tf.ones([n]);
  const priorWeights = tf.expandDims(weights, 1) as tf.Tensor2D;
  const positiveEntries = tf.cast(tf.greater(input.targets, 0), 'float32') as tf.Tensor2D;
  const countedEntries = tf.mul(positiveEntries, tf.cast(tf.greater(priorWeights, 0), 'float32')) as tf.Tensor2D;
  return { softplusLogits: tf.softplus(input.logits), positiveEntries, countedEntries, priorWeights };
}

/** Weighted elementwise VFL [N, C] from precomputed terms. @internal */
export function varifocalFromTerms(
  terms: VarifocalTerms,
  input: VarifocalTargets,
  negGamma: PriorValue,
  alpha: PriorValue,
  iouWeighted: boolean,
): tf.Tensor2D {
  const { logits, targets } = input;
  const bce = tf.sub(terms.softplusLogits, tf.mul(logits, targets));
  // sigmoid(z)^gamma = exp(-gamma softplus(-z)) = exp(-gamma (softplus(z) - z))
  const negativeFocus = tf.mul(tf.exp(tf.mul(tf.sub(terms.softplusLogits, logits), negGamma)), alpha);
  const positiveWeight = iouWeighted ? tf.mul(targets, terms.positiveEntries) : terms.positiveEntries;
  const focalWeight = tf.add(positiveWeight, tf.mul(negativeFocus, tf.sub(1, terms.positiveEntries)));
  return tf.mul(tf.mul(bce, focalWeight), terms.priorWeights) as tf.Tensor2D;
}

export interface VarifocalLossOptions extends ReduceOptions {
  /** Negative-term exponent, default 2. */
  gamma?: number;
  /** Negative-term weight, default 0.75. */
  alpha?: number;
  /** Weight positives by their IoU target (default true, as VFNet). */
  iouWeighted?: boolean;
}

/**
 * Varifocal loss (VFNet, Zhang et al. 2021) as mmdetection's `varifocal_loss` with sigmoid:
 * BCE(z, q) times q for positives (q > 0) and alpha sigmoid(z)^gamma for negatives.
 *
 * @returns a new tensor owned by the caller: [N, C] for reduction 'none', else a scalar.
 */
export function varifocalLoss(input: VarifocalTargets, options: VarifocalLossOptions = {}): tf.Tensor {
  const where = 'varifocalLoss';
  rejectUnknownKeys(options, ['gamma', 'alpha', 'iouWeighted', ...REDUCE_KEYS], where);
  checkVarifocalTargets(input, where);
  const { reduction } = checkReduceOptions(where, options);
  const gamma = expectNumber(options.gamma ?? 2, 'gamma', where, 0);
  const alpha = expectNumber(options.alpha ?? 0.75, 'alpha', where, 0);
  const iouWeighted = options.iouWeighted ?? true;
  return tf.tidy(() =>
    reduceLoss(varifocalFromTerms(varifocalTerms(input), input, -gamma, alpha, iouWeighted), reduction, options.avgFactor),
  );
}
