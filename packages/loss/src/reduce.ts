import * as tf from '@tensorflow/tfjs-core';

/** How a loss is reduced, with mmdetection's `weight_reduce_loss` semantics. */
export type Reduction = 'none' | 'mean' | 'sum';

/** Options shared by every functional loss. */
export interface ReduceOptions {
  /** Default 'mean'. */
  reduction?: Reduction;
  /**
   * The detector's normaliser (usually the number of positives). With 'mean' the summed loss is
   * divided by it instead of by the element count; with 'none' it is ignored (as in mmdetection);
   * with 'sum' it is an error.
   */
  avgFactor?: number;
}

const REDUCTIONS: readonly Reduction[] = ['none', 'mean', 'sum'];
/** Option names of ReduceOptions, for unknown-option checks. */
export const REDUCE_KEYS = ['reduction', 'avgFactor'] as const;

/** Throws a clear Error for an unknown reduction or a non-positive avgFactor. */
export function checkReduceOptions(where: string, options: ReduceOptions): Required<Pick<ReduceOptions, 'reduction'>> {
  const reduction = options.reduction ?? 'mean';
  if (!REDUCTIONS.includes(reduction)) {
    throw new Error(`${where}: reduction must be one of ${REDUCTIONS.join(', ')}, got '${String(reduction)}'`);
  }
  const { avgFactor } = options;
  if (avgFactor !== undefined) {
    if (typeof avgFactor !== 'number' || !Number.isFinite(avgFactor) || avgFactor <= 0) {
      throw new Error(`${where}: avgFactor must be a positive finite number, got ${String(avgFactor)}`);
    }
    if (reduction === 'sum') throw new Error(`${where}: avgFactor cannot be used with reduction 'sum'`);
  }
  return { reduction };
}

/**
 * Sum of all elements of a [N] or [N, C] loss: per prior (over C) first, then over the priors. The
 * gradient is the same as a flat sum's; the value is summed in an order that lets
 * ProgressiveFocus add up several levels from one [sum N_l] vector of per-prior sums, exactly as
 * this gives for each level alone. Call inside a tidy. @internal
 */
export function sumLoss(loss: tf.Tensor): tf.Scalar {
  return (loss.rank === 2 ? tf.sum(tf.sum(loss, 1)) : tf.sum(loss)) as tf.Scalar;
}

/** Reduces an already weighted elementwise loss. Call inside a tidy. */
export function reduceLoss(loss: tf.Tensor, reduction: Reduction, avgFactor: number | undefined): tf.Tensor {
  if (reduction === 'none') return loss;
  if (reduction === 'sum') return sumLoss(loss);
  return avgFactor === undefined ? tf.mean(loss) : tf.div(sumLoss(loss), avgFactor);
}
