import * as tf from '@tensorflow/tfjs-core';
import { expectDtype, expectMatrix, expectNumber, expectVector, rejectUnknownKeys } from './checks.js';
import { oneHotFloat } from './one-hot.js';
import { checkReduceOptions, REDUCE_KEYS, reduceLoss, type ReduceOptions } from './reduce.js';

/** Inputs of one level (or one flattened batch) of a label-based classification loss. */
export interface LabelTargets {
  /** [N, C] float32 logits. */
  logits: tf.Tensor2D;
  /** [N] int32: class in [0, C) is foreground, C background, -1 ignore. */
  labels: tf.Tensor1D;
  /** [N] float32 per-prior weights (0 = ignore); default all ones. */
  labelWeights?: tf.Tensor1D;
}

/**
 * Tensors every sigmoid loss over labels needs, computed once so that the static loss and its
 * progressive variant run exactly the same ops. Build and use inside a tidy.
 * @internal
 */
export interface LabelTerms {
  /** [N, C] one-hot of the counted positives (foreground label and weight > 0). */
  targets: tf.Tensor2D;
  /** [N, 1] prior weight: labelWeights, zeroed where label = -1. */
  priorWeights: tf.Tensor2D;
  /** [N] int32 label of counted priors, -1 for ignored ones (label -1 or weight 0). */
  countedLabels: tf.Tensor1D;
}

/** Validates the shapes of a LabelTargets; returns [N, C]. */
export function checkLabelTargets(input: LabelTargets, where: string): [number, number] {
  const [n, c] = expectMatrix(input.logits, 'logits', where);
  expectVector(input.labels, n, 'labels', where);
  expectDtype(input.labels, 'int32', 'labels', where);
  if (input.labelWeights !== undefined) expectVector(input.labelWeights, n, 'labelWeights', where);
  return [n, c];
}

/**
 * One-hot targets and weights from mmdetection-style labels. A prior with label -1 or weight 0 is
 * ignored: its one-hot row is all zero and so is its weight, so it is neither positive nor negative.
 * @internal
 */
export function labelTerms(input: LabelTargets, numClasses: number): LabelTerms {
  const { countedLabels, weights } = countedLabelsOf(input);
  return {
    // oneHot gives an all-zero row for -1 and for the background label C.
    targets: oneHotFloat(countedLabels, numClasses) as tf.Tensor2D,
    priorWeights: tf.expandDims(weights, 1) as tf.Tensor2D,
    countedLabels,
  };
}

/** [N] label of counted priors (-1 where label = -1 or weight 0) and [N] weights zeroed at -1. @internal */
export function countedLabelsOf(input: LabelTargets): { countedLabels: tf.Tensor1D; weights: tf.Tensor1D } {
  const { labels, labelWeights } = input;
  const notIgnored = tf.greaterEqual(labels, 0);
  const weights = (labelWeights === undefined ? tf.cast(notIgnored, 'float32') : tf.mul(labelWeights, tf.cast(notIgnored, 'float32'))) as tf.Tensor1D;
  const counted = tf.logicalAnd(notIgnored, tf.greater(weights, 0));
  const countedLabels = tf.where(counted, labels, tf.fill(labels.shape, -1, 'int32')) as tf.Tensor1D;
  return { countedLabels, weights };
}

/**
 * The logit of each prior's own class ([N], anything for non-positives) and a [N] float flag of the
 * counted positives. It gathers, which is fine here because only the statistic reads it and the
 * statistic is never differentiated: gradient tapes skip ops that do not lead to the loss, so the
 * missing wasm gradient of gather is never needed. O(N) instead of O(N C); gatherND on the
 * flattened logits because it is ~10x faster than gather on the wasm backend.
 * @internal
 */
export function ownClassLogits(logits: tf.Tensor2D, countedLabels: tf.Tensor1D): { logits: tf.Tensor1D; positives: tf.Tensor1D } {
  const [n, numClasses] = logits.shape;
  const isPositive = tf.logicalAnd(tf.greaterEqual(countedLabels, 0), tf.less(countedLabels, numClasses));
  const column = tf.where(isPositive, countedLabels, tf.zerosLike(countedLabels));
  const index = tf.add(tf.range(0, n * numClasses, numClasses, 'int32'), column);
  const positives = tf.cast(isPositive, 'float32') as tf.Tensor1D;
  // gatherND refuses an empty input, even with no indices
  if (n * numClasses === 0) return { logits: tf.zeros([n]) as tf.Tensor1D, positives };
  return {
    logits: tf.gatherND(tf.reshape(logits, [n * numClasses]), tf.expandDims(index, 1)) as tf.Tensor1D,
    positives,
  };
}

/**
 * The focal loss's own terms. With t the one-hot target and s = z (1 - 2t), p_t = sigmoid(-s) is the
 * probability of the wrong answer: BCE(z, t) = softplus(s), and the modulating factor
 * p_t^gamma = exp(-gamma softplus(-s)) = exp(-gamma (softplus(s) - s)) reuses the same softplus, so
 * no probability is ever logged or raised to a power (no underflow to log(0) for |z| = 100).
 * @internal
 */
export interface FocalTerms extends LabelTerms {
  /** s = z (1 - 2t). */
  signed: tf.Tensor2D;
  /** softplus(s) = BCE(z, t); at a positive entry it is -log(sigmoid(z)). */
  bce: tf.Tensor2D;
}

/** @internal */
export function focalTerms(input: LabelTargets, numClasses: number): FocalTerms {
  const label = labelTerms(input, numClasses);
  const signs = tf.sub(1, tf.mul(label.targets, 2));
  const signed = tf.mul(input.logits, signs) as tf.Tensor2D;
  return { ...label, signed, bce: tf.softplus(signed) };
}

/**
 * A number, or a [N, 1] column of per-prior values (several pyramid levels in one tensor, each with
 * its own gamma and alpha). Both are float32 in the kernel, so a column of equal values gives the
 * same elements as the number. @internal
 */
export type PriorValue = number | tf.Tensor2D;

/** The focal loss's constants: -gamma, and alpha_t = alphaSlope t + alphaBase. @internal */
export interface FocalCoefficients {
  negGamma: PriorValue;
  alphaSlope: PriorValue;
  alphaBase: PriorValue;
}

/** FocalCoefficients of one (gamma, alpha), as numbers. @internal */
export function focalCoefficients(gamma: number, alpha: number): { negGamma: number; alphaSlope: number; alphaBase: number } {
  return { negGamma: -gamma, alphaSlope: 2 * alpha - 1, alphaBase: 1 - alpha };
}

/** Weighted elementwise focal loss [N, C] from precomputed terms. @internal */
export function focalFromTerms(terms: FocalTerms, coefficients: FocalCoefficients): tf.Tensor2D {
  const modulator = tf.exp(tf.mul(tf.sub(terms.bce, terms.signed), coefficients.negGamma));
  const alphaT = tf.add(tf.mul(terms.targets, coefficients.alphaSlope), coefficients.alphaBase);
  const coefficient = tf.mul(alphaT, terms.priorWeights);
  return tf.mul(tf.mul(terms.bce, modulator), coefficient) as tf.Tensor2D;
}

export interface SigmoidFocalLossOptions extends ReduceOptions {
  /** Focusing exponent, default 2. */
  gamma?: number;
  /** Weight of the positive term (1 - alpha for negatives), default 0.25. */
  alpha?: number;
}

/**
 * Sigmoid focal loss (Lin et al. 2017) as mmdetection's `sigmoid_focal_loss`:
 * FL = alpha_t (1 - p_t)^gamma BCE(z, t), summed over classes, weighted per prior.
 * Numerically stable for any finite logit: it only uses softplus and exp of non-positive values.
 *
 * @returns a new tensor owned by the caller: [N, C] for reduction 'none', else a scalar.
 */
export function sigmoidFocalLoss(input: LabelTargets, options: SigmoidFocalLossOptions = {}): tf.Tensor {
  const where = 'sigmoidFocalLoss';
  rejectUnknownKeys(options, ['gamma', 'alpha', ...REDUCE_KEYS], where);
  const [, numClasses] = checkLabelTargets(input, where);
  const { reduction } = checkReduceOptions(where, options);
  const gamma = expectNumber(options.gamma ?? 2, 'gamma', where, 0);
  const alpha = expectNumber(options.alpha ?? 0.25, 'alpha', where, 0);
  return tf.tidy(() => reduceLoss(focalFromTerms(focalTerms(input, numClasses), focalCoefficients(gamma, alpha)), reduction, options.avgFactor));
}
