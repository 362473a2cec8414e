import * as tf from '@tensorflow/tfjs-core';
import { Module, ModuleList } from '../layers/module.js';
import { ConvModule, type NormConfig } from '../layers/conv_module.js';
import { maxPool2d } from '../layers/layers.js';
import type { WeightInit } from '../layers/init.js';
import { checkOptionKeys } from '../layers/options.js';
import { asRng, toRng, type RngLike } from '../layers/rng.js';
import { upsampleNearest } from './upsample.js';

/**
 * Where the convs that make levels above the last backbone level take their input:
 * - 'none': no convs; each extra level is a stride-2 subsample (max_pool k=1) of the one below.
 * - 'on_input': the last used backbone feature, C5 (RetinaNet).
 * - 'on_lateral': the last lateral (1x1 conv of C5).
 * - 'on_output': the last FPN output, P5 (FCOS, ATSS, GFL).
 * Later extra levels always take the previous extra level.
 */
export type ExtraConvSource = 'none' | 'on_input' | 'on_lateral' | 'on_output';

export interface FpnOptions {
  /** Channels of the backbone features [C3, C4, C5] (e.g. `backbone.outChannels`). */
  inChannels: number[];
  outChannels: number;
  /** Pyramid level of each input feature. Default [3, 4, 5]. */
  inputLevels?: number[];
  /** Lowest output level (>= the lowest input level). Default 3. */
  minLevel?: number;
  /** Highest output level (<= 7). Default 7. */
  maxLevel?: number;
  /** Default 'on_input'. */
  extraConvs?: ExtraConvSource;
  /** Apply ReLU before every extra conv but the first (mmdet / torchvision LastLevelP6P7). Default false. */
  reluBeforeExtraConvs?: boolean;
  /** Norm after every conv (then the convs have no bias). Default none. */
  norm?: NormConfig | null;
  /** Init seed (default 0); give `seed` or `rng`, not both. */
  seed?: number;
  rng?: RngLike;
}

const OPTION_KEYS = ['inChannels', 'outChannels', 'inputLevels', 'minLevel', 'maxLevel', 'extraConvs', 'reluBeforeExtraConvs', 'norm', 'seed', 'rng'];
const EXTRA_SOURCES: readonly ExtraConvSource[] = ['none', 'on_input', 'on_lateral', 'on_output'];

/** mmdet FPN init: xavier_init(distribution='uniform'), bias 0. */
const FPN_INIT: WeightInit = { kind: 'xavierUniform' };

/**
 * Feature pyramid network (Lin et al. 2017) in mmdet's form and naming: `lateral_convs.i.conv`
 * (1x1), `fpn_convs.i.conv` (3x3), extra stride-2 convs appended to `fpn_convs`.
 *
 * `forward(features)` takes the backbone features (finest first, one per `inputLevels`) and
 * returns [P_minLevel, ..., P_maxLevel], all with `outChannels`, owned by the caller.
 */
export class Fpn extends Module<tf.Tensor4D[], tf.Tensor4D[]> {
  readonly outChannels: number;
  /** Output pyramid levels, e.g. [3, 4, 5, 6, 7]. */
  readonly levels: number[];
  /** Output strides (2^level). */
  readonly strides: number[];
  readonly extraConvs: ExtraConvSource;
  readonly reluBeforeExtraConvs: boolean;
  private readonly inputLevels: number[];
  /** Indices into the input list of the features that get a lateral conv. */
  private readonly usedInputs: number[];
  private readonly lateralConvs: ModuleList<tf.Tensor4D, tf.Tensor4D>;
  private readonly fpnConvs: ModuleList<tf.Tensor4D, tf.Tensor4D>;

  constructor(options: FpnOptions) {
    super();
    checkOptionKeys('Fpn', options, OPTION_KEYS);
    if (options.seed !== undefined && options.rng !== undefined) throw new Error(`Fpn: give 'seed' or 'rng', not both`);
    const rng = options.rng !== undefined ? asRng(options.rng, 'Fpn') : toRng(options.seed);
    const inChannels = options.inChannels;
    this.inputLevels = options.inputLevels ?? [3, 4, 5];
    if (!Array.isArray(inChannels) || inChannels.length !== this.inputLevels.length) {
      throw new Error(`Fpn: option 'inChannels' must list one channel count per input level [${this.inputLevels.join(', ')}], got ${JSON.stringify(inChannels)}`);
    }
    this.inputLevels.forEach((level, i) => {
      if (!Number.isInteger(level) || (i > 0 && level !== (this.inputLevels[i - 1] as number) + 1)) {
        throw new Error(`Fpn: option 'inputLevels' must be consecutive integers, got [${this.inputLevels.join(', ')}]`);
      }
    });
    const firstInput = this.inputLevels[0] as number;
    const lastInput = this.inputLevels[this.inputLevels.length - 1] as number;
    const minLevel = options.minLevel ?? firstInput;
    const maxLevel = options.maxLevel ?? 7;
    if (!Number.isInteger(minLevel) || minLevel < firstInput || minLevel > lastInput) {
      throw new Error(`Fpn: option 'minLevel' must be an input level in [${firstInput}, ${lastInput}], got ${minLevel}`);
    }
    if (!Number.isInteger(maxLevel) || maxLevel < minLevel || maxLevel > 7) {
      throw new Error(`Fpn: option 'maxLevel' must be an integer in [minLevel=${minLevel}, 7], got ${maxLevel}`);
    }
    this.extraConvs = options.extraConvs ?? 'on_input';
    if (!EXTRA_SOURCES.includes(this.extraConvs)) {
      throw new Error(`Fpn: option 'extraConvs' must be one of ${EXTRA_SOURCES.join(', ')}, got ${String(this.extraConvs)}`);
    }
    this.reluBeforeExtraConvs = options.reluBeforeExtraConvs ?? false;
    this.outChannels = options.outChannels;
    if (!Number.isInteger(this.outChannels) || this.outChannels < 1) {
      throw new Error(`Fpn: option 'outChannels' must be a positive integer, got ${this.outChannels}`);
    }
    const norm = options.norm ?? null;
    this.levels = [];
    for (let l = minLevel; l <= maxLevel; l++) this.levels.push(l);
    this.strides = this.levels.map((l) => 2 ** l);
    this.usedInputs = [];
    for (let l = minLevel; l <= Math.min(maxLevel, lastInput); l++) this.usedInputs.push(l - firstInput);

    const make = (inC: number, kernelSize: number, stride: number) =>
      new ConvModule({
        inChannels: inC,
        outChannels: this.outChannels,
        kernelSize,
        stride,
        padding: (kernelSize - 1) >> 1,
        norm,
        weightInit: FPN_INIT,
        biasInit: 0,
        rng,
      });
    const lateral = this.usedInputs.map((i) => make(inChannels[i] as number, 1, 1));
    const output = this.usedInputs.map(() => make(this.outChannels, 3, 1));
    const numExtra = this.levels.length - this.usedInputs.length;
    if (this.extraConvs !== 'none') {
      const lastUsed = this.usedInputs[this.usedInputs.length - 1] as number;
      for (let e = 0; e < numExtra; e++) {
        const inC = e === 0 && this.extraConvs === 'on_input' ? (inChannels[lastUsed] as number) : this.outChannels;
        output.push(make(inC, 3, 2));
      }
    }
    this.lateralConvs = this.registerModule('lateral_convs', new ModuleList(lateral));
    this.fpnConvs = this.registerModule('fpn_convs', new ModuleList(output));
  }

  forward(features: tf.Tensor4D[]): tf.Tensor4D[] {
    if (features.length !== this.inputLevels.length) {
      throw new Error(`Fpn: expected ${this.inputLevels.length} features for levels [${this.inputLevels.join(', ')}], got ${features.length}`);
    }
    return tf.tidy(() => {
      const inputs = this.usedInputs.map((i) => features[i] as tf.Tensor4D);
      const laterals = inputs.map((x, i) => this.lateralConvs.at(i).forward(x));
      for (let i = laterals.length - 1; i > 0; i--) {
        const finer = laterals[i - 1] as tf.Tensor4D;
        const up = upsampleNearest(laterals[i] as tf.Tensor4D, finer.shape[1], finer.shape[2]);
        laterals[i - 1] = tf.add(finer, up);
      }
      const outs = laterals.map((x, i) => this.fpnConvs.at(i).forward(x));
      const numExtra = this.levels.length - outs.length;
      for (let e = 0; e < numExtra; e++) {
        const previous = outs[outs.length - 1] as tf.Tensor4D;
        if (this.extraConvs === 'none') {
          outs.push(maxPool2d(previous, 1, 2, 0));
          continue;
        }
        let source: tf.Tensor4D;
        if (e === 0) {
          if (this.extraConvs === 'on_input') source = inputs[inputs.length - 1] as tf.Tensor4D;
          else if (this.extraConvs === 'on_lateral') source = laterals[laterals.length - 1] as tf.Tensor4D;
          else source = previous;
        } else {
          source = this.reluBeforeExtraConvs ? tf.relu(previous) : previous;
        }
        outs.push(this.fpnConvs.at(laterals.length + e).forward(source));
      }
      return outs;
    });
  }
}

/** Same as `new Fpn(options)`. */
export function createFpn(options: FpnOptions): Fpn {
  return new Fpn(options);
}
