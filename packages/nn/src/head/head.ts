import * as tf from '@tensorflow/tfjs-core';
import { Module, ModuleList, Sequential } from '../layers/module.js';
import { ConvModule, type NormConfig } from '../layers/conv_module.js';
import { Conv2d, Scale } from '../layers/layers.js';
import { biasInitWithProb } from '../layers/init.js';
import { checkOptionKeys, checkNonNegativeInt, checkPositiveInt } from '../layers/options.js';
import type { RngLike } from '../layers/rng.js';

/** Default std of normal_init for head convs (RetinaNet, FCOS, ATSS, GFL ...). */
export const HEAD_INIT_STD = 0.01;
/** Default prior probability of a foreground class at initialisation (focal-loss paper). */
export const DEFAULT_PRIOR_PROB = 0.01;

export interface ConvTowerOptions {
  inChannels: number;
  /** Channels of every conv of the tower. */
  featChannels: number;
  /** Number of 3x3 conv -> norm -> ReLU units (4 in RetinaNet/FCOS). 0 gives the identity. */
  numConvs: number;
  /** Default GroupNorm with 32 groups (FCOS/ATSS/GFL); null for none (RetinaNet). */
  norm?: NormConfig | null;
  /** Default 0.01. */
  std?: number;
  rng: RngLike;
}

/**
 * A stack of 3x3 conv (normal init, zero bias) -> norm -> ReLU, shared by all pyramid levels.
 * Children are named '0', '1', ... each a ConvModule (`0.conv.weight`, `0.gn.weight`), so an
 * adapter that registers it as `cls_convs` gets mmdet's names.
 */
export class ConvTower extends Module<tf.Tensor4D, tf.Tensor4D> {
  readonly outChannels: number;
  private readonly layers: Sequential<tf.Tensor4D>;

  constructor(options: ConvTowerOptions) {
    super();
    const owner = 'ConvTower';
    checkOptionKeys(owner, options, ['inChannels', 'featChannels', 'numConvs', 'norm', 'std', 'rng']);
    const numConvs = checkNonNegativeInt(owner, 'numConvs', options.numConvs);
    const inChannels = checkPositiveInt(owner, 'inChannels', options.inChannels);
    const featChannels = checkPositiveInt(owner, 'featChannels', options.featChannels);
    const norm = options.norm === undefined ? ({ type: 'gn', numGroups: 32 } as const) : options.norm;
    const std = options.std ?? HEAD_INIT_STD;
    const units: ConvModule[] = [];
    for (let i = 0; i < numConvs; i++) {
      units.push(
        new ConvModule({
          inChannels: i === 0 ? inChannels : featChannels,
          outChannels: featChannels,
          kernelSize: 3,
          padding: 1,
          norm,
          relu: true,
          weightInit: { kind: 'normal', std },
          biasInit: 0,
          rng: options.rng,
        }),
      );
    }
    this.outChannels = numConvs === 0 ? inChannels : featChannels;
    // Registered under the tower itself (not a nested 'layers' child) to keep mmdet's names.
    this.layers = new Sequential(units);
    units.forEach((unit, i) => this.registerModule(String(i), unit));
  }

  get length(): number {
    return this.layers.length;
  }

  /** One level. Returns a new tensor (the input itself is never returned, even with 0 convs). */
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return this.layers.length === 0 ? tf.clone(x) : this.layers.forward(x);
  }

  /** Every level through the same weights. */
  forwardLevels(features: tf.Tensor4D[]): tf.Tensor4D[] {
    return features.map((x) => this.forward(x));
  }
}

export interface HeadConvOptions {
  inChannels: number;
  outChannels: number;
  /** Default 3 (padding keeps the size). */
  kernelSize?: number;
  /** Default 0.01. */
  std?: number;
  /**
   * Bias from a prior probability (classification outputs): -log((1 - p) / p).
   * Mutually exclusive with `bias`.
   */
  priorProb?: number;
  /** Constant bias. Default 0. */
  bias?: number;
  rng: RngLike;
}

/** A prediction conv (cls/reg/centerness output) with detection-head init: N(0, std^2) weight. */
export function createHeadConv(options: HeadConvOptions): Conv2d {
  checkOptionKeys('createHeadConv', options, ['inChannels', 'outChannels', 'kernelSize', 'std', 'priorProb', 'bias', 'rng']);
  if (options.priorProb !== undefined && options.bias !== undefined) {
    throw new Error(`createHeadConv: give 'priorProb' or 'bias', not both`);
  }
  const kernelSize = options.kernelSize ?? 3;
  if (kernelSize % 2 !== 1) throw new Error(`createHeadConv: option 'kernelSize' must be odd, got ${kernelSize}`);
  const bias = options.priorProb !== undefined ? biasInitWithProb(options.priorProb) : options.bias ?? 0;
  return new Conv2d({
    inChannels: options.inChannels,
    outChannels: options.outChannels,
    kernelSize,
    padding: (kernelSize - 1) >> 1,
    weightInit: { kind: 'normal', std: options.std ?? HEAD_INIT_STD },
    biasInit: bias,
    rng: options.rng,
  });
}

/** One learnable `Scale` per pyramid level (names '0.scale', '1.scale', ...). */
export function createScales(numLevels: number, initialValue = 1): ModuleList<tf.Tensor, tf.Tensor> {
  checkPositiveInt('createScales', 'numLevels', numLevels);
  return new ModuleList(Array.from({ length: numLevels }, () => new Scale(initialValue)));
}
