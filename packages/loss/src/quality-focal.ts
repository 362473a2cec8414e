import * as tf from '@tensorflow/tfjs-core';
import { expectNumber, expectVector, rejectUnknownKeys } from './checks.js';
import { checkLabelTargets, labelTerms, type LabelTargets, type LabelTerms, type PriorValue } from './focal.js';
import { checkReduceOptions, REDUCE_KEYS, reduceLoss, type ReduceOptions } from './reduce.js';

/** QFL inputs: labels as for focal loss plus the IoU quality of each prior's box. */
export interface QualityTargets extends LabelTargets {
  /** [N] float32 quality target (IoU) of each positive prior; ignored elsewhere. */
  scores: tf.Tensor1D;
}

/** @internal */
export interface QualityTerms extends LabelTerms {
  /** softplus(z), shared by the cross-entropy and the statistic. */
  softplusLogits: tf.Tensor2D;
  /** [N, C] soft target y: the quality score at the positive's class, 0 elsewhere. */
  soft: tf.Tensor2D;
}

export function checkQualityTargets(input: QualityTargets, where: string): [number, number] {
  const [n, c] = checkLabelTargets(input, where);
  expectVector(input.scores, n, 'scores', where);
  return [n, c];
}

/** @internal */
export function qualityTerms(input: QualityTargets, numClasses: number): QualityTerms {
  const label = labelTerms(input, numClasses);
  return {
    ...label,
    softplusLogits: tf.softplus(input.logits),
    soft: tf.mul(label.targets, tf.expandDims(input.scores, 1)) as tf.Tensor2D,
  };
}

// Keeps |y - sigmoid(z)|^beta differentiable where the difference is exactly 0 (beta < 1 would
// otherwise give 0 * Infinity); 1e-12^beta is far below float32 resolution of any real loss.
const DIFF_FLOOR = 1e-12;

/** Weighted per-prior QFL [N] from precomputed terms. @internal */
export function qualityFromTerms(terms: QualityTerms, logits: tf.Tensor2D, beta: PriorValue): tf.Tensor1D {
  const bce = tf.sub(terms.softplusLogits, tf.mul(logits, terms.soft));
  const distance = tf.maximum(tf.abs(tf.sub(terms.soft, tf.sigmoid(logits))), DIFF_FLOOR);
  const perPrior = tf.sum(tf.mul(bce, tf.pow(distance, beta)), 1);
  return tf.mul(perPrior, tf.squeeze(terms.priorWeights, [1])) as tf.Tensor1D;
}

export interface QualityFocalLossOptions extends ReduceOptions {
  /** Focusing exponent, default 2. */
  beta?: number;
}

/**
 * Quality focal loss (GFL, Li et al. 2020) as mmdetection's `quality_focal_loss` with sigmoid:
 * QFL = BCE(z, y) |y - sigmoid(z)|^beta with y the IoU score at the positive's class and 0
 * elsewhere, summed over classes, weighted per prior.
 *
 * @returns a new tensor owned by the caller: [N] for reduction 'none', else a scalar.
 */
export function qualityFocalLoss(input: QualityTargets, options: QualityFocalLossOptions = {}): tf.Tensor {
  const where = 'qualityFocalLoss';
  rejectUnknownKeys(options, ['beta', ...REDUCE_KEYS], where);
  const [, numClasses] = checkQualityTargets(input, where);
  const { reduction } = checkReduceOptions(where, options);
  const beta = expectNumber(options.beta ?? 2, 'beta', where, 0);
  return tf.tidy(() =>
    reduceLoss(qualityFromTerms(qualityTerms(input, numClasses), input.logits, beta), reduction, options.avgFactor),
  );
}
