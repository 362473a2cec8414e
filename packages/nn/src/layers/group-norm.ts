/**
 * Group normalisation of NHWC input as one differentiable op with the analytic backward pass.
 *
 * Autodiff of the composed forward (moments, broadcast subtract/multiply, affine) records ~15
 * taped ops per call, each of which saves (clones) its inputs, and its backward replays them as
 * ~35 kernels with broadcasting reductions. Under tf.customGrad the forward's ops are not taped
 * and the backward is the closed form (per sample n and group g, m = H * W * C/G values):
 *   xhat = (x - mean) * rstd,  y = xhat * weight + bias
 *   dbias = sum_{n,h,w} dy,  dweight = sum_{n,h,w} dy * xhat
 *   dx = rstd * (g - mean_group(g) - xhat * mean_group(g * xhat)),  g = dy * weight
 * The forward computes the same ops in the same order as the composed form (two-pass moments),
 * so its values are unchanged; gradients agree with autodiff to float32 rounding.
 */
import * as tf from '@tensorflow/tfjs-core';

type Shape4 = [number, number, number, number];

function normalise(x: tf.Tensor4D, numGroups: number, eps: number): { xhat: tf.Tensor4D; rstd: tf.Tensor4D } {
  const [n, h, w, c] = x.shape;
  // [n, h*w, groups, c/groups]: the statistics reduce axes 1 and 3.
  const grouped = tf.reshape(x, [n, h * w, numGroups, c / numGroups]) as tf.Tensor4D;
  const mean = tf.mean(grouped, [1, 3], true);
  const centred = tf.sub(grouped, mean);
  const variance = tf.mean(tf.square(centred), [1, 3], true);
  const rstd = tf.rsqrt(tf.add(variance, eps)) as tf.Tensor4D;
  return { xhat: tf.mul(centred, rstd) as tf.Tensor4D, rstd };
}

function inputGradient(g: tf.Tensor4D, xhat: tf.Tensor4D, rstd: tf.Tensor4D, shape: Shape4): tf.Tensor4D {
  const meanG = tf.mean(g, [1, 3], true);
  const meanGx = tf.mean(tf.mul(g, xhat), [1, 3], true);
  return tf.reshape(tf.mul(tf.sub(tf.sub(g, meanG), tf.mul(xhat, meanGx)), rstd), shape) as tf.Tensor4D;
}

/**
 * GroupNorm forward with a hand-written gradient. `weight`/`bias` [c] both given (affine) or both
 * null. Statistics per sample over H, W and the group's channels, biased variance, as torch.
 */
export function groupNorm(x: tf.Tensor4D, numGroups: number, eps: number, weight: tf.Tensor1D | null, bias: tf.Tensor1D | null): tf.Tensor4D {
  const shape = x.shape as Shape4;
  const [n, h, w, c] = shape;
  const grouped: Shape4 = [n, h * w, numGroups, c / numGroups];
  if (weight === null || bias === null) {
    const plain = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const [input, save] = args as [tf.Tensor4D, tf.GradSaveFunc];
      const { xhat, rstd } = normalise(input, numGroups, eps);
      save([xhat, rstd]);
      return {
        value: tf.reshape(xhat, shape),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
          inputGradient(tf.reshape(dy, grouped) as tf.Tensor4D, saved[0] as tf.Tensor4D, saved[1] as tf.Tensor4D, shape),
      };
    });
    return plain(x) as tf.Tensor4D;
  }
  const affine = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [input, gamma, beta, save] = args as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
    const { xhat, rstd } = normalise(input, numGroups, eps);
    save([xhat, rstd, gamma]);
    return {
      value: tf.add(tf.mul(tf.reshape(xhat, shape), gamma), beta),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xhat4, rstd4, gamma1] = saved as [tf.Tensor4D, tf.Tensor4D, tf.Tensor1D];
        const flatDy = tf.reshape(dy, [n * h * w, c]);
        const dBias = tf.sum(flatDy, 0);
        const dWeight = tf.sum(tf.mul(flatDy, tf.reshape(xhat4, [n * h * w, c])), 0);
        const g = tf.reshape(tf.mul(flatDy, gamma1), grouped) as tf.Tensor4D;
        return [inputGradient(g, xhat4, rstd4, shape), dWeight, dBias];
      },
    };
  });
  return affine(x, weight, bias) as tf.Tensor4D;
}
