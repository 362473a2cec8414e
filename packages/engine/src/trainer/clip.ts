/**
 * Gradient clipping by global norm, as torch.nn.utils.clip_grad_norm_ (mmdetection's grad_clip):
 * total = sqrt(sum ||g||^2); if maxNorm / (total + 1e-6) < 1, every gradient is scaled by it.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface ClipResult {
  /** New tensors owned by the caller (the inputs are not disposed). */
  grads: tf.Tensor[];
  /** Global norm before clipping. */
  norm: number;
}

export function clipByGlobalNorm(grads: readonly tf.Tensor[], maxNorm: number): ClipResult {
  if (!(maxNorm > 0) || !Number.isFinite(maxNorm)) throw new Error(`clipByGlobalNorm: maxNorm must be a finite number > 0, got ${maxNorm}`);
  const norm = tf.tidy(() => {
    const squares = grads.map((g) => tf.sum(tf.square(g)));
    return squares.length === 0 ? 0 : Math.sqrt(tf.addN(squares).dataSync()[0]!);
  });
  const scale = maxNorm / (norm + 1e-6);
  const clipped = grads.map((g) => (scale < 1 ? tf.mul(g, scale) : tf.clone(g)));
  return { grads: clipped, norm };
}
