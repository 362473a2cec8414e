import type { SizeHW } from '../boxes/check-options.js';

/**
 * What anchor and point generators have in common, so caches and adapters can treat
 * them alike. All arrays are plain float32 buffers: priors are constants, built once
 * per feature-map size on the CPU and uploaded (or cached) by the caller.
 */
export interface PriorGenerator {
  /** Number of pyramid levels (0 = P3 with the default strides). */
  readonly numLevels: number;
  /** Stride of each level in input pixels. */
  readonly strides: readonly number[];
  /** Priors per feature-map location, per level (anchors: ratios x scales; points: 1). */
  readonly numBasePriors: readonly number[];
  /** Values per prior: 4 for anchors (x1, y1, x2, y2), 2 or 4 for points. */
  readonly priorDim: number;
  /**
   * Priors of every level for the given feature sizes, flattened row-major in
   * (y, x, prior) order: level l has `H_l * W_l * numBasePriors[l]` rows of `priorDim`.
   */
  gridPriors(featureSizes: readonly SizeHW[]): Float32Array[];
  /**
   * 1 where a prior's location lies inside the un-padded image, per level, in the same
   * order as `gridPriors`. `validSize` is the image's [height, width] in input pixels
   * before it was padded into the batch tensor.
   */
  validFlags(featureSizes: readonly SizeHW[], validSize: SizeHW): Uint8Array[];
}

/**
 * Feature-map sizes of a stride-s pyramid for an input of [height, width]: ceil(size / s),
 * which is what a chain of stride-2 'same'-padded convolutions produces.
 */
export function featureSizesFor(inputSize: SizeHW, strides: readonly number[]): SizeHW[] {
  return strides.map((s) => [Math.ceil(inputSize[0] / s), Math.ceil(inputSize[1] / s)] as const);
}

/**
 * mmdetection's valid-flag rule for one level: locations with y < min(ceil(h / stride), H)
 * and x < min(ceil(w / stride), W) are valid; each valid location marks all its priors.
 */
export function levelValidFlags(featureSize: SizeHW, validSize: SizeHW, stride: number, numBasePriors: number): Uint8Array {
  const [featH, featW] = featureSize;
  const validH = Math.min(Math.ceil(validSize[0] / stride), featH);
  const validW = Math.min(Math.ceil(validSize[1] / stride), featW);
  const flags = new Uint8Array(featH * featW * numBasePriors);
  for (let y = 0; y < validH; y++) {
    const rowStart = y * featW * numBasePriors;
    flags.fill(1, rowStart, rowStart + validW * numBasePriors);
  }
  return flags;
}
