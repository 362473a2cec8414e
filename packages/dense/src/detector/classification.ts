import * as tf from '@tensorflow/tfjs-core';
import type { HpfResult, ProgressiveFocus } from '@hpf/loss';

/**
 * The classification loss of a dense detector: focal loss with per-level (gamma_l, alpha_l) from
 * `focus` (mode 'off' = the static published focal loss), summed over levels and divided by
 * `avgFactor`. `logits[l]` is [M_l, C] (batch flattened into priors), `labels[l]` the level's labels
 * (class, C background, -1 ignore), `weights[l]` optional per-prior weights. Returns the scalar
 * (caller owns) and the per-level stats.
 */
export function focalClassificationLoss(
  focus: ProgressiveFocus,
  logits: readonly tf.Tensor2D[],
  labels: readonly Int32Array[],
  avgFactor: number,
  weights?: readonly Float32Array[],
): HpfResult {
  const labelTensors = labels.map((a) => tf.tensor1d(a, 'int32'));
  const weightTensors = weights?.map((a) => tf.tensor1d(a, 'float32'));
  try {
    return focus.focalLoss(
      logits.map((z, l) => ({ logits: z, labels: labelTensors[l]!, labelWeights: weightTensors?.[l] })),
      { avgFactor },
    );
  } finally {
    tf.dispose(labelTensors);
    if (weightTensors) tf.dispose(weightTensors);
  }
}
