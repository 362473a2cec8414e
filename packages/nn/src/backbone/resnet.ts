import * as tf from '@tensorflow/tfjs-core';
import { Module, Sequential } from '../layers/module.js';
import { BatchNorm2d, Conv2d, GroupNorm, maxPool2d } from '../layers/layers.js';
import { convNormAct, createNorm, type NormConfig } from '../layers/conv_module.js';
import type { WeightInit } from '../layers/init.js';
import type { RngLike } from '../layers/rng.js';

/** torchvision's ResNet conv init: kaiming_normal_(mode='fan_out', nonlinearity='relu'). */
const RESNET_CONV_INIT: WeightInit = { kind: 'kaimingNormal', mode: 'fan_out' };

type Norm = BatchNorm2d | GroupNorm;

function conv(rng: RngLike, inChannels: number, outChannels: number, kernelSize: number, stride: number): Conv2d {
  return new Conv2d({
    inChannels,
    outChannels,
    kernelSize,
    stride,
    padding: (kernelSize - 1) >> 1,
    bias: false,
    weightInit: RESNET_CONV_INIT,
    rng,
  });
}

/** Registration name of the i-th norm of a block: 'bn1' / 'gn1' (mmdet's build_norm_layer postfix). */
function normName(norm: NormConfig, index: number | ''): string {
  return `${norm.type}${index}`;
}

/** Conv + norm projection shortcut, named `downsample.0` / `downsample.1` as torchvision. */
class Downsample extends Sequential<tf.Tensor4D> {
  constructor(rng: RngLike, norm: NormConfig, inChannels: number, outChannels: number, stride: number) {
    super([conv(rng, inChannels, outChannels, 1, stride), createNorm(norm, outChannels)]);
  }

  override forward(x: tf.Tensor4D): tf.Tensor4D {
    return convNormAct(this.at(0) as Conv2d, this.at(1) as Norm, x, false);
  }
}

/** Residual block interface shared by BasicBlock and Bottleneck. */
export interface ResidualBlock extends Module<tf.Tensor4D, tf.Tensor4D> {
  readonly outChannels: number;
}

/** Two 3x3 convs (ResNet-18/34). expansion = 1. */
export class BasicBlock extends Module<tf.Tensor4D, tf.Tensor4D> implements ResidualBlock {
  static readonly expansion = 1;
  readonly outChannels: number;
  private readonly conv1: Conv2d;
  private readonly norm1: Norm;
  private readonly conv2: Conv2d;
  private readonly norm2: Norm;
  private readonly downsample: Downsample | null;

  constructor(rng: RngLike, norm: NormConfig, inChannels: number, planes: number, stride: number) {
    super();
    this.outChannels = planes;
    this.conv1 = this.registerModule('conv1', conv(rng, inChannels, planes, 3, stride));
    this.norm1 = this.registerModule(normName(norm, 1), createNorm(norm, planes));
    this.conv2 = this.registerModule('conv2', conv(rng, planes, planes, 3, 1));
    this.norm2 = this.registerModule(normName(norm, 2), createNorm(norm, planes));
    const needsProjection = stride !== 1 || inChannels !== planes;
    this.downsample = needsProjection
      ? this.registerModule('downsample', new Downsample(rng, norm, inChannels, planes, stride))
      : null;
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      let y = convNormAct(this.conv1, this.norm1, x, true);
      y = convNormAct(this.conv2, this.norm2, y, false);
      const identity = this.downsample === null ? x : this.downsample.forward(x);
      return tf.relu(tf.add(y, identity) as tf.Tensor4D);
    });
  }
}

/** 1x1 -> 3x3 (carries the stride, torchvision's "v1.5") -> 1x1 (ResNet-50). expansion = 4. */
export class Bottleneck extends Module<tf.Tensor4D, tf.Tensor4D> implements ResidualBlock {
  static readonly expansion = 4;
  readonly outChannels: number;
  private readonly conv1: Conv2d;
  private readonly norm1: Norm;
  private readonly conv2: Conv2d;
  private readonly norm2: Norm;
  private readonly conv3: Conv2d;
  private readonly norm3: Norm;
  private readonly downsample: Downsample | null;

  constructor(rng: RngLike, norm: NormConfig, inChannels: number, planes: number, stride: number) {
    super();
    const outChannels = planes * Bottleneck.expansion;
    this.outChannels = outChannels;
    this.conv1 = this.registerModule('conv1', conv(rng, inChannels, planes, 1, 1));
    this.norm1 = this.registerModule(normName(norm, 1), createNorm(norm, planes));
    this.conv2 = this.registerModule('conv2', conv(rng, planes, planes, 3, stride));
    this.norm2 = this.registerModule(normName(norm, 2), createNorm(norm, planes));
    this.conv3 = this.registerModule('conv3', conv(rng, planes, outChannels, 1, 1));
    this.norm3 = this.registerModule(normName(norm, 3), createNorm(norm, outChannels));
    const needsProjection = stride !== 1 || inChannels !== outChannels;
    this.downsample = needsProjection
      ? this.registerModule('downsample', new Downsample(rng, norm, inChannels, outChannels, stride))
      : null;
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      let y = convNormAct(this.conv1, this.norm1, x, true);
      y = convNormAct(this.conv2, this.norm2, y, true);
      y = convNormAct(this.conv3, this.norm3, y, false);
      const identity = this.downsample === null ? x : this.downsample.forward(x);
      return tf.relu(tf.add(y, identity) as tf.Tensor4D);
    });
  }
}

export type BlockType = 'basic' | 'bottleneck';

/** Fully resolved ResNet layout (see `createBackbone` for presets). */
export interface ResNetConfig {
  block: BlockType;
  /** Blocks in layer1..layer4. */
  layers: [number, number, number, number];
  /** Stem width and layer1 planes before the multiplier; torchvision uses 64. */
  baseWidth: number;
  /** Scales every width: planes_i = round(baseWidth * 2^i * widthMultiplier). */
  widthMultiplier: number;
  norm: NormConfig;
  /** mmdet semantics: -1 nothing, 0 the stem, k the stem and layer1..layerk. */
  frozenStages: number;
  /** Keep every BatchNorm in eval mode even when the model trains (mmdet norm_eval). */
  normEval: boolean;
  /** Image channels (3). */
  inChannels: number;
  /**
   * Per-channel `(x - mean) / std` applied to the images first, in the images' units (null: none).
   * Pretrained weights expect the normalisation they were trained with; holding it in the model,
   * as torchvision's detectors and detectron2 do, keeps training, evaluation and prediction alike.
   */
  inputNorm: { mean: number[]; std: number[] } | null;
}

/** [C3, C4, C5]: outputs of layer2, layer3, layer4 (strides 8, 16, 32). */
export type BackboneFeatures = [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];

/**
 * ResNet body without the classifier (no avgpool / fc), named as torchvision's `resnet*`:
 * `conv1`, `bn1`, `layer1.0.conv1.weight`, ... `layer4.1.downsample.0.weight`.
 * With GroupNorm the norm layers are named `gn1`, `gn2`, ... (mmdet convention).
 *
 * `forward(images)` takes NHWC float32 images and returns [C3, C4, C5], owned by the caller.
 */
export class ResNet extends Module<tf.Tensor4D, BackboneFeatures> {
  readonly config: Readonly<ResNetConfig>;
  /** Channels of [C3, C4, C5]. */
  readonly outChannels: [number, number, number];
  /** Strides of [C3, C4, C5] relative to the input. */
  readonly strides: [number, number, number] = [8, 16, 32];
  /** Pyramid levels of [C3, C4, C5]. */
  readonly levels: [number, number, number] = [3, 4, 5];
  private readonly conv1: Conv2d;
  private readonly norm1: Norm;
  private readonly stages: Array<Sequential<tf.Tensor4D>>;

  constructor(config: ResNetConfig, rng: RngLike) {
    super();
    this.config = Object.freeze({
      ...config,
      layers: [...config.layers] as ResNetConfig['layers'],
      inputNorm: config.inputNorm === null ? null : { mean: [...config.inputNorm.mean], std: [...config.inputNorm.std] },
    });
    const stemWidth = scaledWidth(config.baseWidth, config.widthMultiplier);
    this.conv1 = this.registerModule(
      'conv1',
      new Conv2d({
        inChannels: config.inChannels,
        outChannels: stemWidth,
        kernelSize: 7,
        stride: 2,
        padding: 3,
        bias: false,
        weightInit: RESNET_CONV_INIT,
        rng,
      }),
    );
    this.norm1 = this.registerModule(normName(config.norm, 1), createNorm(config.norm, stemWidth));
    const Block = config.block === 'basic' ? BasicBlock : Bottleneck;
    let channels = stemWidth;
    const stageChannels: number[] = [];
    this.stages = config.layers.map((numBlocks, i) => {
      const planes = scaledWidth(config.baseWidth * 2 ** i, config.widthMultiplier);
      const blocks: Array<Module<tf.Tensor4D, tf.Tensor4D>> = [];
      for (let b = 0; b < numBlocks; b++) {
        const block = new Block(rng, config.norm, channels, planes, b === 0 && i > 0 ? 2 : 1);
        channels = block.outChannels;
        blocks.push(block);
      }
      stageChannels.push(channels);
      return this.registerModule(`layer${i + 1}`, new Sequential(blocks));
    });
    this.outChannels = [stageChannels[1], stageChannels[2], stageChannels[3]] as [number, number, number];
    this.applyFrozenStages();
    this.train(true);
  }

  private applyFrozenStages(): void {
    const { frozenStages } = this.config;
    if (frozenStages >= 0) {
      this.conv1.freeze();
      this.norm1.freeze();
    }
    for (let i = 1; i <= frozenStages; i++) this.stages[i - 1]?.freeze();
  }

  override train(mode = true): this {
    super.train(mode);
    if (mode && this.config.normEval) {
      for (const [, m] of this.namedModules()) if (m instanceof BatchNorm2d) m.eval();
    }
    return this;
  }

  forward(images: tf.Tensor4D): BackboneFeatures {
    if (images.rank !== 4 || images.shape[3] !== this.config.inChannels) {
      throw new Error(`ResNet: expected NHWC images with ${this.config.inChannels} channels, got shape [${images.shape.join(', ')}]`);
    }
    return tf.tidy(() => {
      const norm = this.config.inputNorm;
      const input = norm === null ? images : (tf.mul(tf.sub(images, norm.mean), norm.std.map((s) => 1 / s)) as tf.Tensor4D);
      let x = convNormAct(this.conv1, this.norm1, input, true);
      x = maxPool2d(x, 3, 2, 1);
      const outs: tf.Tensor4D[] = [];
      for (const stage of this.stages) {
        x = stage.forward(x);
        outs.push(x);
      }
      return [outs[1], outs[2], outs[3]] as BackboneFeatures;
    });
  }
}

export function scaledWidth(width: number, multiplier: number): number {
  return Math.max(1, Math.round(width * multiplier));
}
