/**
 * Batch normalisation of NHWC input over N, H, W, training mode, as one differentiable op with
 * the analytic backward pass.
 *
 * Autodiff of the composed forward (tf.moments, subtract, rsqrt, two broadcasting multiplies, an
 * add) tapes ~10 ops per call, each saving (cloning) its inputs, and replays them backwards as ~25
 * kernels, every broadcasting one followed by a reduction over N, H, W (a transpose plus a sum on
 * wasm). Under tf.customGrad the forward is not taped and the backward is the closed form
 * (per channel, m = N * H * W values, c = x - mean, rstd = 1 / sqrt(var + eps), xhat = c * rstd):
 *   dbias = sum dy,  dweight = sum dy * xhat = rstd * sum(dy * c)
 *   dx = weight * rstd * (dy - mean(dy) - xhat * mean(dy * xhat))
 *      = k1 * dy + k2 * c + k3,  k1 = weight * rstd,  k2 = -k1 * rstd^2 * sum(dy * c) / m,
 *        k3 = -k1 * sum(dy) / m
 * so the forward is 6 full-size kernels (2 means, subtract, square, multiply, add) and the
 * backward 7 (2 sums, 3 multiplies, 2 adds); everything else is on [C] vectors.
 *
 * The centred input c is saved for the backward instead of x: it is needed there anyway, and
 * (x - mean) * scale keeps the forward as exact as the composed form's (x - mean) * rstd * weight
 * when |mean| >> std, where x * scale + shift would cancel.
 */
import * as tf from '@tensorflow/tfjs-core';

const AXES = [0, 1, 2];

/** The batch statistics a training-mode forward computed (biased variance), for running stats. */
export interface BatchStats {
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
}

/**
 * Training-mode BatchNorm forward with a hand-written gradient: y = (x - mean) / sqrt(var + eps)
 * * weight + bias with the batch mean and biased variance per channel, as torch.
 *
 * `onStats` is called inside the forward with the batch statistics (tensors owned by the call:
 * use them, e.g. to assign running stats, and do not keep them); no gradient flows through it.
 */
export function batchNormTrain(
  x: tf.Tensor4D,
  weight: tf.Tensor1D,
  bias: tf.Tensor1D,
  eps: number,
  onStats?: (stats: BatchStats) => void,
): tf.Tensor4D {
  const m = x.shape[0] * x.shape[1] * x.shape[2];
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [input, gamma, beta, save] = args as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
    const mean = tf.mean(input, AXES) as tf.Tensor1D;
    const centred = tf.sub(input, mean) as tf.Tensor4D;
    const variance = tf.mean(tf.square(centred), AXES) as tf.Tensor1D;
    onStats?.({ mean, variance });
    const rstd = tf.rsqrt(tf.add(variance, eps)) as tf.Tensor1D;
    save([centred, rstd, gamma]);
    return {
      value: tf.add(tf.mul(centred, tf.mul(gamma, rstd)), beta) as tf.Tensor4D,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [c, r, g] = saved as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D];
        const sumDy = tf.sum(dy, AXES) as tf.Tensor1D;
        const sumDyC = tf.sum(tf.mul(dy, c), AXES) as tf.Tensor1D;
        const k1 = tf.mul(g, r);
        const k2 = tf.mul(k1, tf.mul(tf.square(r), tf.mul(sumDyC, -1 / m)));
        const k3 = tf.mul(k1, tf.mul(sumDy, -1 / m));
        const dx = tf.add(tf.add(tf.mul(dy, k1), k3), tf.mul(c, k2)) as tf.Tensor4D;
        return [dx, tf.mul(sumDyC, r) as tf.Tensor1D, sumDy];
      },
    };
  });
  return op(x, weight, bias) as tf.Tensor4D;
}

/**
 * Eval-mode BatchNorm as a per-channel affine map: y = x * scale + shift with
 * scale = weight / sqrt(runningVar + eps), shift = bias - runningMean * scale.
 */
export function batchNormScaleShift(
  weight: tf.Tensor1D,
  bias: tf.Tensor1D,
  runningMean: tf.Tensor1D,
  runningVar: tf.Tensor1D,
  eps: number,
): { scale: tf.Tensor1D; shift: tf.Tensor1D } {
  return tf.tidy(() => {
    const scale = tf.mul(weight, tf.rsqrt(tf.add(runningVar, eps))) as tf.Tensor1D;
    return { scale, shift: tf.sub(bias, tf.mul(runningMean, scale)) as tf.Tensor1D };
  });
}
