import * as tf from '@tensorflow/tfjs-core';
import { Module } from './module.js';
import { BatchNorm2d, Conv2d, GroupNorm, type Conv2dOptions } from './layers.js';
import { checkOptionKeys } from './options.js';

/** Normalisation choice shared by backbones, neck and heads. */
export type NormConfig = { type: 'bn'; eps?: number; momentum?: number } | { type: 'gn'; numGroups: number; eps?: number };

/** Builds the norm layer for `channels`; the registration name is its `type` ('bn' / 'gn'), as mmdet. */
export function createNorm(norm: NormConfig, channels: number): BatchNorm2d | GroupNorm {
  if (norm.type === 'bn') {
    checkOptionKeys('norm (bn)', norm, ['type', 'eps', 'momentum']);
    return new BatchNorm2d(channels, { eps: norm.eps, momentum: norm.momentum });
  }
  if (norm.type === 'gn') {
    checkOptionKeys('norm (gn)', norm, ['type', 'numGroups', 'eps']);
    return new GroupNorm(norm.numGroups, channels, { eps: norm.eps });
  }
  throw new Error(`norm: unknown type '${(norm as { type: unknown }).type}' (expected 'bn' or 'gn')`);
}

export interface ConvModuleOptions extends Omit<Conv2dOptions, 'bias'> {
  /** Default: no norm. */
  norm?: NormConfig | null;
  /** Apply ReLU after the (normalised) conv. Default false. */
  relu?: boolean;
  /** Default: a bias only when there is no norm (mmdet's bias='auto'). */
  bias?: boolean;
}

/**
 * conv -> optional norm -> optional ReLU, named like mmcv's ConvModule: `conv.weight`,
 * `conv.bias`, `gn.weight` / `bn.weight`.
 */
export class ConvModule extends Module<tf.Tensor4D, tf.Tensor4D> {
  readonly conv: Conv2d;
  readonly norm: BatchNorm2d | GroupNorm | null;
  readonly withRelu: boolean;

  constructor(options: ConvModuleOptions) {
    super();
    const { norm = null, relu = false, bias, ...convOptions } = options;
    this.conv = this.registerModule('conv', new Conv2d({ ...convOptions, bias: bias ?? norm === null }));
    this.norm = norm === null ? null : this.registerModule(norm.type, createNorm(norm, this.conv.outChannels));
    this.withRelu = relu;
  }

  get outChannels(): number {
    return this.conv.outChannels;
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return convNormAct(this.conv, this.norm, x, this.withRelu);
  }
}

/**
 * conv -> norm -> optional ReLU with as few kernels as tfjs allows: without a norm, the conv's bias
 * and ReLU go into its FusedConv2D; an eval-mode (or frozen) BatchNorm is a per-channel affine map
 * of the conv's output, so it is folded into the filter and bias (w' = w * scale,
 * b' = b * scale + shift) and the three layers become one kernel. A BatchNorm using batch
 * statistics, or a GroupNorm, runs on the conv's output.
 */
export function convNormAct(conv: Conv2d, norm: BatchNorm2d | GroupNorm | null, x: tf.Tensor4D, relu: boolean): tf.Tensor4D {
  return tf.tidy(() => {
    if (norm === null || (norm instanceof BatchNorm2d && norm.folded)) return conv.forwardFused(x, { relu });
    if (norm instanceof BatchNorm2d && !norm.usesBatchStats) return conv.forwardFoldedBatchNorm(x, norm, relu);
    const y = norm.forward(conv.forward(x));
    return relu ? tf.relu(y) : y;
  });
}
