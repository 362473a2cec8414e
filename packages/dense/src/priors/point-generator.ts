import { checkFinite, checkKnownOptions, checkPositive, checkSize, type SizeHW } from '../boxes/check-options.js';
import { checkLevel, checkLevelCount } from './anchor-generator.js';
import { levelValidFlags, type PriorGenerator } from './prior-generator.js';

export interface PointGeneratorOptions {
  /** Stride of each level in input pixels. */
  strides: readonly number[];
  /**
   * Point position within a cell in units of the stride: x = (col + offset) * stride.
   * 0.5 (default, mmdetection's MlvlPointGenerator) puts points at cell centres; 0 at corners.
   */
  offset?: number;
  /** Emit [x, y, stride, stride] per point instead of [x, y] (mmdetection's with_stride). */
  withStride?: boolean;
}

const KNOWN = ['strides', 'offset', 'withStride'] as const;

export interface PointGenerator extends PriorGenerator {
  readonly priorDim: 2 | 4;
  readonly offset: number;
  /** Points of one level for a feature map of [H, W], row-major (y, x). */
  levelPoints(level: number, featureSize: SizeHW): Float32Array;
}

/** Point priors (one per location) for anchor-free heads (FCOS, FoveaBox, GFL/TOOD/VFNet centres). */
export function createPointGenerator(options: PointGeneratorOptions): PointGenerator {
  const where = 'createPointGenerator';
  checkKnownOptions(where, options, KNOWN);
  const { strides } = options;
  if (!Array.isArray(strides) || strides.length === 0) throw new Error(`${where}: option 'strides' must be a non-empty array`);
  strides.forEach((s, i) => checkPositive(where, `strides[${i}]`, s));
  const offset = options.offset ?? 0.5;
  checkFinite(where, 'offset', offset);
  const withStride = options.withStride ?? false;
  const dim = withStride ? 4 : 2;

  const levelPoints = (level: number, featureSize: SizeHW): Float32Array => {
    checkLevel(where, level, strides.length);
    checkSize(where, `featureSize of level ${level}`, featureSize, true);
    const stride = strides[level]!;
    const [featH, featW] = featureSize;
    const out = new Float32Array(featH * featW * dim);
    let k = 0;
    for (let y = 0; y < featH; y++) {
      const py = (y + offset) * stride;
      for (let x = 0; x < featW; x++) {
        out[k++] = (x + offset) * stride;
        out[k++] = py;
        if (withStride) {
          out[k++] = stride;
          out[k++] = stride;
        }
      }
    }
    return out;
  };

  return {
    numLevels: strides.length,
    strides: [...strides],
    numBasePriors: strides.map(() => 1),
    priorDim: dim,
    offset,
    levelPoints,
    gridPriors: (featureSizes) => {
      checkLevelCount(where, featureSizes.length, strides.length);
      return featureSizes.map((size, level) => levelPoints(level, size));
    },
    validFlags: (featureSizes, validSize) => {
      checkLevelCount(where, featureSizes.length, strides.length);
      checkSize(where, 'validSize', validSize, true);
      return featureSizes.map((size, level) => levelValidFlags(size, validSize, strides[level]!, 1));
    },
  };
}
