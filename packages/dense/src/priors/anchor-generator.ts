import { checkFinite, checkKnownOptions, checkPositive, checkSize, type SizeHW } from '../boxes/check-options.js';
import { levelValidFlags, type PriorGenerator } from './prior-generator.js';

export interface AnchorGeneratorOptions {
  /** Stride of each level in input pixels, e.g. [8, 16, 32, 64, 128] for P3-P7. */
  strides: readonly number[];
  /** Aspect ratios h / w, e.g. [0.5, 1, 2]. */
  ratios: readonly number[];
  /** Scale multipliers of the base size. Give either `scales` or `octaveBaseScale` + `scalesPerOctave`. */
  scales?: readonly number[];
  /** RetinaNet style scales: octaveBaseScale * 2^(i / scalesPerOctave), i = 0..scalesPerOctave-1. */
  octaveBaseScale?: number;
  scalesPerOctave?: number;
  /** Base anchor size per level; defaults to the strides. */
  baseSizes?: readonly number[];
  /** Anchor centre within a cell as a fraction of the base size (mmdetection default 0: the cell corner). */
  centerOffset?: number;
  /**
   * Order of the anchors at one location. true (mmdetection's default): ratios outer,
   * scales inner, i.e. anchor index = ratioIndex * numScales + scaleIndex. false: scales outer.
   */
  scaleMajor?: boolean;
}

const KNOWN = ['strides', 'ratios', 'scales', 'octaveBaseScale', 'scalesPerOctave', 'baseSizes', 'centerOffset', 'scaleMajor'] as const;

export interface AnchorGenerator extends PriorGenerator {
  readonly priorDim: 4;
  /** Scales actually used (after octave expansion). */
  readonly scales: readonly number[];
  readonly ratios: readonly number[];
  /** The anchors of one level centred on location (0, 0): `numBasePriors[level]` rows of x1, y1, x2, y2. */
  baseAnchors(level: number): Float32Array;
  /** Anchors of one level for a feature map of [H, W], in (y, x, anchor) order. */
  levelAnchors(level: number, featureSize: SizeHW): Float32Array;
}

/**
 * Anchor generator with mmdetection's AnchorGenerator semantics (v2/v3, legacy off).
 * Base anchor a at a location: centre (c, c) with c = centerOffset * baseSize,
 * w = baseSize * scale / sqrt(ratio), h = baseSize * scale * sqrt(ratio);
 * the anchor at cell (y, x) is shifted by (x * stride, y * stride).
 */
export function createAnchorGenerator(options: AnchorGeneratorOptions): AnchorGenerator {
  const where = 'createAnchorGenerator';
  checkKnownOptions(where, options, KNOWN);
  const { strides, ratios } = options;
  if (!Array.isArray(strides) || strides.length === 0) throw new Error(`${where}: option 'strides' must be a non-empty array`);
  strides.forEach((s, i) => checkPositive(where, `strides[${i}]`, s));
  if (!Array.isArray(ratios) || ratios.length === 0) throw new Error(`${where}: option 'ratios' must be a non-empty array`);
  ratios.forEach((r, i) => checkPositive(where, `ratios[${i}]`, r));

  const scales = resolveScales(where, options);
  const baseSizes = options.baseSizes ?? strides;
  if (baseSizes.length !== strides.length) {
    throw new Error(`${where}: option 'baseSizes' has ${baseSizes.length} entries but 'strides' has ${strides.length}`);
  }
  baseSizes.forEach((b, i) => checkPositive(where, `baseSizes[${i}]`, b));
  const centerOffset = options.centerOffset ?? 0;
  checkFinite(where, 'centerOffset', centerOffset);
  const scaleMajor = options.scaleMajor ?? true;

  const base = baseSizes.map((size) => buildBaseAnchors(size, scales, ratios, centerOffset, scaleMajor));
  const numBase = scales.length * ratios.length;

  const levelAnchors = (level: number, featureSize: SizeHW): Float32Array => {
    checkLevel(where, level, strides.length);
    checkSize(where, `featureSize of level ${level}`, featureSize, true);
    return shiftBaseAnchors(base[level]!, strides[level]!, featureSize);
  };

  return {
    numLevels: strides.length,
    strides: [...strides],
    numBasePriors: strides.map(() => numBase),
    priorDim: 4,
    scales,
    ratios: [...ratios],
    baseAnchors: (level) => {
      checkLevel(where, level, strides.length);
      return base[level]!.slice();
    },
    levelAnchors,
    gridPriors: (featureSizes) => {
      checkLevelCount(where, featureSizes.length, strides.length);
      return featureSizes.map((size, level) => levelAnchors(level, size));
    },
    validFlags: (featureSizes, validSize) => {
      checkLevelCount(where, featureSizes.length, strides.length);
      checkSize(where, 'validSize', validSize, true);
      return featureSizes.map((size, level) => levelValidFlags(size, validSize, strides[level]!, numBase));
    },
  };
}

function resolveScales(where: string, options: AnchorGeneratorOptions): number[] {
  const hasOctave = options.octaveBaseScale !== undefined || options.scalesPerOctave !== undefined;
  if (options.scales !== undefined && hasOctave) {
    throw new Error(`${where}: give either 'scales' or 'octaveBaseScale' + 'scalesPerOctave', not both`);
  }
  if (options.scales !== undefined) {
    if (!Array.isArray(options.scales) || options.scales.length === 0) throw new Error(`${where}: option 'scales' must be a non-empty array`);
    options.scales.forEach((s, i) => checkPositive(where, `scales[${i}]`, s));
    return [...options.scales];
  }
  if (options.octaveBaseScale === undefined || options.scalesPerOctave === undefined) {
    throw new Error(`${where}: needs 'scales' or both 'octaveBaseScale' and 'scalesPerOctave'`);
  }
  checkPositive(where, 'octaveBaseScale', options.octaveBaseScale);
  const perOctave = options.scalesPerOctave;
  if (!Number.isInteger(perOctave) || perOctave < 1) {
    throw new Error(`${where}: option 'scalesPerOctave' must be an integer >= 1, got ${perOctave}`);
  }
  return Array.from({ length: perOctave }, (_, i) => options.octaveBaseScale! * 2 ** (i / perOctave));
}

function buildBaseAnchors(
  baseSize: number,
  scales: readonly number[],
  ratios: readonly number[],
  centerOffset: number,
  scaleMajor: boolean,
): Float32Array {
  const center = centerOffset * baseSize;
  const out = new Float32Array(scales.length * ratios.length * 4);
  let k = 0;
  const push = (scale: number, ratio: number): void => {
    const hRatio = Math.sqrt(ratio);
    const w = baseSize * scale / hRatio;
    const h = baseSize * scale * hRatio;
    out[k++] = center - 0.5 * w;
    out[k++] = center - 0.5 * h;
    out[k++] = center + 0.5 * w;
    out[k++] = center + 0.5 * h;
  };
  if (scaleMajor) {
    for (const r of ratios) for (const s of scales) push(s, r);
  } else {
    for (const s of scales) for (const r of ratios) push(s, r);
  }
  return out;
}

function shiftBaseAnchors(base: Float32Array, stride: number, featureSize: SizeHW): Float32Array {
  const [featH, featW] = featureSize;
  const numBase = base.length / 4;
  const out = new Float32Array(featH * featW * base.length);
  let k = 0;
  for (let y = 0; y < featH; y++) {
    const sy = y * stride;
    for (let x = 0; x < featW; x++) {
      const sx = x * stride;
      for (let a = 0; a < numBase; a++) {
        out[k++] = base[a * 4]! + sx;
        out[k++] = base[a * 4 + 1]! + sy;
        out[k++] = base[a * 4 + 2]! + sx;
        out[k++] = base[a * 4 + 3]! + sy;
      }
    }
  }
  return out;
}

export function checkLevel(where: string, level: number, numLevels: number): void {
  if (!Number.isInteger(level) || level < 0 || level >= numLevels) {
    throw new Error(`${where}: level ${level} out of range [0, ${numLevels})`);
  }
}

export function checkLevelCount(where: string, got: number, numLevels: number): void {
  if (got !== numLevels) {
    throw new Error(`${where}: got ${got} feature sizes but the generator has ${numLevels} levels`);
  }
}
