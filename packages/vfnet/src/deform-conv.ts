import * as tf from '@tensorflow/tfjs-core';

/**
 * Where a deformable convolution samples its input, for one offset field: per output location,
 * kernel point and bilinear corner, the flat input row to read and the corner's weight. Integer
 * parts (corner rows, in-bounds masks) are constants computed on the CPU; only the fractional
 * parts depend on the offsets, so the gradient path is elementwise ops and one gather.
 * Owns its tensors: `dispose()` it (or create it inside a tidy).
 */
export interface DeformSamplingPlan {
  /** Input [N, H, W] and output [Ho, Wo] sizes, kernel [kh, kw]. */
  readonly batch: number;
  readonly inputSize: readonly [number, number];
  readonly outputSize: readonly [number, number];
  readonly kernel: readonly [number, number];
  /** int32 [N Ho Wo K 4]: row of the input flattened to [N H W, C] read by each corner (clamped). */
  readonly index: tf.Tensor1D;
  /** [N, Ho, Wo, K, 4, 1] bilinear corner weights, 0 for corners outside the input. */
  readonly weights: tf.Tensor;
  dispose(): void;
}

export interface DeformConvOptions {
  /** Zero padding on each side (default (k - 1) / 2 of the kernel height and width: same size). */
  padding?: number;
}

/**
 * Builds the sampling plan of a stride-1, dilation-1 deformable convolution (Dai et al. 2017, as
 * torchvision.ops.deform_conv2d / mmcv DeformConv2d with one offset group) from its offsets.
 *
 * @param offsets [N, Ho, Wo, 2 K]: per kernel point k = ky * kw + kx the pair (dy, dx), torchvision's
 *   channel order moved to the last axis. Kernel point k of output (i, j) samples the input at
 *   (i - padding + ky + dy, j - padding + kx + dx) by bilinear interpolation, 0 outside the input.
 *
 * Reads `offsets` back once (`dataSync`) for the integer parts.
 */
export function deformSamplingPlan(
  offsets: tf.Tensor4D,
  inputSize: readonly [number, number],
  kernel: readonly [number, number],
  options: DeformConvOptions = {},
): DeformSamplingPlan {
  const where = 'deformSamplingPlan';
  const [kh, kw] = kernel;
  if (![kh, kw].every((k) => Number.isInteger(k) && k >= 1)) throw new Error(`${where}: kernel must be two positive integers, got [${kernel.join(', ')}]`);
  const k = kh * kw;
  const padding = options.padding ?? (kh - 1) / 2;
  if (!Number.isInteger(padding) || padding < 0 || (options.padding === undefined && kh !== kw)) {
    throw new Error(`${where}: option 'padding' must be a non-negative integer, got ${String(padding)}`);
  }
  const [h, w] = inputSize;
  const ho = h + 2 * padding - kh + 1;
  const wo = w + 2 * padding - kw + 1;
  const [n, oh, ow, oc] = offsets.shape;
  if (offsets.rank !== 4 || oh !== ho || ow !== wo || oc !== 2 * k) {
    throw new Error(`${where}: offsets must be [N, ${ho}, ${wo}, ${2 * k}] for a ${h}x${w} input and a ${kh}x${kw} kernel, got [${offsets.shape.join(', ')}]`);
  }
  const raw = offsets.dataSync();
  const count = n * ho * wo * k;
  const index = new Int32Array(4 * count);
  const masks = new Float32Array(4 * count);
  // ly = dy + shiftY, lx = dx + shiftX: the fractional parts, differentiable in the offsets.
  const shiftY = new Float32Array(count);
  const shiftX = new Float32Array(count);
  let p = 0;
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < ho; i++) {
      for (let j = 0; j < wo; j++) {
        for (let ky = 0; ky < kh; ky++) {
          for (let kx = 0; kx < kw; kx++, p++) {
            const baseY = i - padding + ky;
            const baseX = j - padding + kx;
            const y = baseY + raw[2 * p]!;
            const x = baseX + raw[2 * p + 1]!;
            const y0 = Math.floor(y);
            const x0 = Math.floor(x);
            // Each corner outside the input reads 0. This alone gives torchvision's values (a sample
            // at y <= -1 or y >= H has no corner inside) and its offset gradients, including the
            // one-sided derivative into the image at y = -1 exactly (zero offsets on the border).
            shiftY[p] = baseY - y0;
            shiftX[p] = baseX - x0;
            for (let c = 0; c < 4; c++) {
              const yc = y0 + (c >> 1);
              const xc = x0 + (c & 1);
              const inside = yc >= 0 && yc < h && xc >= 0 && xc < w;
              masks[4 * p + c] = inside ? 1 : 0;
              index[4 * p + c] = inside ? (b * h + yc) * w + xc : 0;
            }
          }
        }
      }
    }
  }
  const tensors = tf.tidy(() => {
    const pairs = tf.reshape(offsets, [n, ho, wo, k, 2]);
    const [dy, dx] = tf.unstack(pairs, 4);
    const ly = tf.add(dy!, tf.tensor4d(shiftY, [n, ho, wo, k]));
    const lx = tf.add(dx!, tf.tensor4d(shiftX, [n, ho, wo, k]));
    const hy = tf.sub(1, ly);
    const hx = tf.sub(1, lx);
    // corner c = 2 * (row step) + (column step): (y0, x0), (y0, x0 + 1), (y0 + 1, x0), (y0 + 1, x0 + 1)
    const bilinear = tf.stack([tf.mul(hy, hx), tf.mul(hy, lx), tf.mul(ly, hx), tf.mul(ly, lx)], 4);
    const weights = tf.expandDims(tf.mul(bilinear, tf.tensor(masks, [n, ho, wo, k, 4])), 5);
    return { weights, index: tf.tensor1d(index, 'int32') };
  });
  return {
    batch: n,
    inputSize: [h, w],
    outputSize: [ho, wo],
    kernel: [kh, kw],
    index: tensors.index,
    weights: tensors.weights,
    dispose: () => tf.dispose([tensors.index, tensors.weights]),
  };
}

/**
 * Deformable convolution with a precomputed sampling plan: x [N, H, W, C] (NHWC), weight
 * [kh, kw, C, Cout] (tfjs HWIO) -> [N, Ho, Wo, Cout], no bias. The samples of all kernel points are
 * gathered at once (one gather of [N H W, C] rows; its gradient is an UnsortedSegmentSum), weighted
 * and summed over the 4 corners, and contracted with the weight as one matmul (im2col).
 * Returns a new tensor the caller owns.
 */
export function deformConv2dWithPlan(x: tf.Tensor4D, plan: DeformSamplingPlan, weight: tf.Tensor4D): tf.Tensor4D {
  const where = 'deformConv2d';
  const [n, h, w, c] = x.shape;
  const [kh, kw] = plan.kernel;
  if (n !== plan.batch || h !== plan.inputSize[0] || w !== plan.inputSize[1]) {
    throw new Error(`${where}: input [${x.shape.join(', ')}] does not match the plan's [${plan.batch}, ${plan.inputSize.join(', ')}, C]`);
  }
  if (weight.rank !== 4 || weight.shape[0] !== kh || weight.shape[1] !== kw || weight.shape[2] !== c) {
    throw new Error(`${where}: weight must be [${kh}, ${kw}, ${c}, Cout], got [${weight.shape.join(', ')}]`);
  }
  const [ho, wo] = plan.outputSize;
  const k = kh * kw;
  const cout = weight.shape[3];
  return tf.tidy(() => {
    const rows = tf.gather(tf.reshape(x, [n * h * w, c]), plan.index);
    const corners = tf.reshape(rows, [n, ho, wo, k, 4, c]);
    const sampled = tf.sum(tf.mul(corners, plan.weights), 4);
    const columns = tf.reshape(sampled, [n * ho * wo, k * c]);
    return tf.reshape(tf.matMul(columns, tf.reshape(weight, [k * c, cout])), [n, ho, wo, cout]) as tf.Tensor4D;
  });
}

/** `deformSamplingPlan` + `deformConv2dWithPlan` for a single use of the offsets. */
export function deformConv2d(x: tf.Tensor4D, offsets: tf.Tensor4D, weight: tf.Tensor4D, options: DeformConvOptions = {}): tf.Tensor4D {
  const plan = deformSamplingPlan(offsets, [x.shape[1], x.shape[2]], [weight.shape[0], weight.shape[1]], options);
  try {
    return deformConv2dWithPlan(x, plan, weight);
  } finally {
    plan.dispose();
  }
}
