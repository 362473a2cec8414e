import { ResNet, type BlockType, type ResNetConfig } from './resnet.js';
import type { NormConfig } from '../layers/conv_module.js';
import { checkOptionKeys } from '../layers/options.js';
import { asRng, toRng, type Rng, type RngLike } from '../layers/rng.js';

/**
 * Named layouts. Full-width ones match torchvision (weights could be mapped one to one); the
 * `-mini` ones are for CPU training: a quarter of the width, and resnet10-mini one block per stage.
 */
export const BACKBONE_PRESETS = {
  resnet18: { block: 'basic', layers: [2, 2, 2, 2], widthMultiplier: 1 },
  resnet34: { block: 'basic', layers: [3, 4, 6, 3], widthMultiplier: 1 },
  resnet50: { block: 'bottleneck', layers: [3, 4, 6, 3], widthMultiplier: 1 },
  'resnet18-mini': { block: 'basic', layers: [2, 2, 2, 2], widthMultiplier: 0.25 },
  'resnet10-mini': { block: 'basic', layers: [1, 1, 1, 1], widthMultiplier: 0.25 },
} as const satisfies Record<string, { block: BlockType; layers: readonly number[]; widthMultiplier: number }>;

export type BackbonePreset = keyof typeof BACKBONE_PRESETS;

/**
 * Fine-tuning settings of mmdetection's configs for an ImageNet-pretrained ResNet
 * (`frozen_stages=1, norm_eval=True`): the stem and layer1 keep their weights, every BatchNorm
 * keeps its statistics. The library's own defaults are mmdetection's ResNet class defaults
 * (-1, false), which its from-scratch configs keep; `hpf train` applies these when it loads
 * pretrained weights.
 */
export const PRETRAINED_FINE_TUNE = { frozenStages: 1, normEval: true } as const;

/**
 * The input normalisation of torchvision's and timm's ImageNet ResNets, for images in 0..1 (what
 * @hpf/data's default 'unit' normalisation gives): mmdetection's mean [123.675, 116.28, 103.53] and
 * std [58.395, 57.12, 57.375] divided by 255.
 */
export const IMAGENET_INPUT_NORM = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } as const;

export interface BackboneOptions {
  /** Starting layout; fields below override it. Required unless `block` and `layers` are given. */
  preset?: BackbonePreset;
  block?: BlockType;
  layers?: [number, number, number, number];
  /** Default 64. */
  baseWidth?: number;
  widthMultiplier?: number;
  /** Default `{ type: 'bn' }`. */
  norm?: NormConfig;
  /** Default -1 (nothing frozen). */
  frozenStages?: number;
  /** Default false. */
  normEval?: boolean;
  /** Default 3. */
  inChannels?: number;
  /**
   * `(x - mean) / std` per channel on the images, inside the model: 'imagenet' (IMAGENET_INPUT_NORM,
   * for 0..1 images and ImageNet-pretrained weights), explicit values in the images' units, or
   * null (default: none).
   */
  inputNorm?: 'imagenet' | { mean: readonly number[]; std: readonly number[] } | null;
  /** Init seed (default 0); give `seed` or `rng`, not both. */
  seed?: number;
  rng?: RngLike;
}

const OPTION_KEYS = ['preset', 'block', 'layers', 'baseWidth', 'widthMultiplier', 'norm', 'frozenStages', 'normEval', 'inChannels', 'inputNorm', 'seed', 'rng'];

/** Resolves a preset name or options to a full, validated ResNetConfig. */
export function resolveBackboneConfig(presetOrOptions: BackbonePreset | BackboneOptions): ResNetConfig {
  const options: BackboneOptions = typeof presetOrOptions === 'string' ? { preset: presetOrOptions } : presetOrOptions;
  checkOptionKeys('createBackbone', options, OPTION_KEYS);
  let base: { block?: BlockType; layers?: readonly number[]; widthMultiplier?: number } = {};
  if (options.preset !== undefined) {
    if (!Object.hasOwn(BACKBONE_PRESETS, options.preset)) {
      throw new Error(`createBackbone: unknown preset '${options.preset}' (known: ${Object.keys(BACKBONE_PRESETS).join(', ')})`);
    }
    base = BACKBONE_PRESETS[options.preset];
  }
  const block = options.block ?? base.block;
  const layers = options.layers ?? base.layers;
  if (block !== 'basic' && block !== 'bottleneck') {
    throw new Error(`createBackbone: option 'block' must be 'basic' or 'bottleneck' (or give a preset), got ${String(block)}`);
  }
  if (!Array.isArray(layers) || layers.length !== 4 || !layers.every((n) => Number.isInteger(n) && n >= 1)) {
    throw new Error(`createBackbone: option 'layers' must be 4 positive integers, got ${JSON.stringify(layers)}`);
  }
  const config: ResNetConfig = {
    block,
    layers: [...layers] as ResNetConfig['layers'],
    baseWidth: options.baseWidth ?? 64,
    widthMultiplier: options.widthMultiplier ?? base.widthMultiplier ?? 1,
    norm: options.norm ?? { type: 'bn' },
    frozenStages: options.frozenStages ?? -1,
    normEval: options.normEval ?? false,
    inChannels: options.inChannels ?? 3,
    inputNorm: null,
  };
  if (!Number.isInteger(config.baseWidth) || config.baseWidth < 1) {
    throw new Error(`createBackbone: option 'baseWidth' must be a positive integer, got ${config.baseWidth}`);
  }
  if (!(config.widthMultiplier > 0)) {
    throw new Error(`createBackbone: option 'widthMultiplier' must be > 0, got ${config.widthMultiplier}`);
  }
  if (!Number.isInteger(config.frozenStages) || config.frozenStages < -1 || config.frozenStages > 4) {
    throw new Error(`createBackbone: option 'frozenStages' must be an integer in [-1, 4], got ${config.frozenStages}`);
  }
  if (!Number.isInteger(config.inChannels) || config.inChannels < 1) {
    throw new Error(`createBackbone: option 'inChannels' must be a positive integer, got ${config.inChannels}`);
  }
  const norm = options.inputNorm === 'imagenet' ? IMAGENET_INPUT_NORM : (options.inputNorm ?? null);
  if (norm !== null) {
    const ok = (v: unknown): boolean => Array.isArray(v) && v.length === config.inChannels && v.every((x) => Number.isFinite(x));
    if (typeof norm !== 'object' || !ok(norm.mean) || !ok(norm.std) || !norm.std.every((s) => s > 0)) {
      throw new Error(
        `createBackbone: option 'inputNorm' must be 'imagenet', null or { mean, std } with ${config.inChannels} finite values each (std > 0), got ${JSON.stringify(options.inputNorm)}`,
      );
    }
    config.inputNorm = { mean: [...norm.mean], std: [...norm.std] };
  }
  return config;
}

/** Picks the rng of factory options that accept `seed` or `rng`. */
export function rngFromOptions(owner: string, options: { seed?: number; rng?: RngLike }): Rng {
  if (options.seed !== undefined && options.rng !== undefined) {
    throw new Error(`${owner}: give 'seed' or 'rng', not both`);
  }
  return options.rng !== undefined ? asRng(options.rng, owner) : toRng(options.seed);
}

/**
 * Builds a ResNet backbone from a preset name or options. The result's `forward(images)` returns
 * [C3, C4, C5] (strides 8, 16, 32) with channels `backbone.outChannels`.
 */
export function createBackbone(presetOrOptions: BackbonePreset | BackboneOptions): ResNet {
  const config = resolveBackboneConfig(presetOrOptions);
  const rng = typeof presetOrOptions === 'string' ? toRng(0) : rngFromOptions('createBackbone', presetOrOptions);
  return new ResNet(config, rng);
}
