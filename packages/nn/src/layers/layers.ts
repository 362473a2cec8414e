import * as tf from '@tensorflow/tfjs-core';
import { groupNorm } from './group-norm.js';
import { Module } from './module.js';
import { batchNormScaleShift, batchNormTrain } from './batch-norm.js';
import { initBias, initWeight, type BiasInit, type WeightInit } from './init.js';
import { asRng, type RngLike } from './rng.js';
import { checkOptionKeys, checkNonNegativeInt, checkPositiveInt } from './options.js';

type Pair = number | [number, number];
type ExplicitPadding = [[number, number], [number, number], [number, number], [number, number]];

function pair(owner: string, name: string, value: Pair, allowZero: boolean): [number, number] {
  const [a, b] = typeof value === 'number' ? [value, value] : value;
  const check = allowZero ? checkNonNegativeInt : checkPositiveInt;
  return [check(owner, name, a), check(owner, name, b)];
}

export interface Conv2dOptions {
  inChannels: number;
  outChannels: number;
  kernelSize: Pair;
  /** Default 1. */
  stride?: Pair;
  /** torch-style zero padding added on both sides of each spatial axis. Default 0. */
  padding?: Pair;
  /** Default 1. tfjs requires stride 1 wherever dilation > 1. */
  dilation?: Pair;
  /** Default true. */
  bias?: boolean;
  /** Default torch's nn.Conv2d init. */
  weightInit?: WeightInit;
  /** Default 0, or torch's uniform when weightInit is 'torchDefault' (or omitted). */
  biasInit?: BiasInit;
  /** Required: every layer draws its initial weights from the caller's seeded stream. */
  rng: RngLike;
}

const CONV_KEYS = ['inChannels', 'outChannels', 'kernelSize', 'stride', 'padding', 'dilation', 'bias', 'weightInit', 'biasInit', 'rng'];

/**
 * 2-D convolution on NHWC input. Parameters: `weight` [kh, kw, in, out] (HWIO, the layout
 * tf.conv2d wants; torch's OIHW maps by transposing axes (2, 3, 1, 0)) and `bias` [out].
 * Output size per axis: floor((in + 2 * pad - dilation * (k - 1) - 1) / stride) + 1, as torch.
 */
export class Conv2d extends Module<tf.Tensor4D, tf.Tensor4D> {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly weight: tf.Variable;
  /** Null without a bias; foldBatchNorm() adds one. */
  get bias(): tf.Variable | null {
    return this.biasVariable;
  }
  private biasVariable: tf.Variable | null;
  /** forwardFoldedBatchNorm's folded filter and bias, with the dataIds they were computed from. */
  private foldCache: { sources: unknown[]; filter: tf.Tensor4D; bias: tf.Tensor1D } | null = null;

  constructor(options: Conv2dOptions) {
    super();
    const owner = 'Conv2d';
    checkOptionKeys(owner, options, CONV_KEYS);
    if (options.rng === undefined) throw new Error(`${owner}: option 'rng' (a function returning [0, 1) or an object with uniform()) is required`);
    const rng = asRng(options.rng, owner);
    this.inChannels = checkPositiveInt(owner, 'inChannels', options.inChannels);
    this.outChannels = checkPositiveInt(owner, 'outChannels', options.outChannels);
    this.kernelSize = pair(owner, 'kernelSize', options.kernelSize, false);
    this.stride = pair(owner, 'stride', options.stride ?? 1, false);
    this.padding = pair(owner, 'padding', options.padding ?? 0, true);
    this.dilation = pair(owner, 'dilation', options.dilation ?? 1, false);
    if (Math.max(...this.stride) > 1 && Math.max(...this.dilation) > 1) {
      throw new Error(`${owner}: stride ${this.stride} with dilation ${this.dilation} is not supported by tfjs (one must be 1)`);
    }
    const weightInit = options.weightInit ?? { kind: 'torchDefault' };
    const biasInit = options.biasInit ?? (weightInit.kind === 'torchDefault' ? 'torchDefault' : 0);
    const shape = [this.kernelSize[0], this.kernelSize[1], this.inChannels, this.outChannels];
    this.weight = this.registerParameter('weight', initWeight(shape, weightInit, rng));
    const fanIn = this.inChannels * this.kernelSize[0] * this.kernelSize[1];
    this.biasVariable = (options.bias ?? true) ? this.registerParameter('bias', initBias(this.outChannels, biasInit, fanIn, rng)) : null;
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return this.forwardFused(x);
  }

  /**
   * The conv, then an optional per-output-channel affine map and ReLU:
   * y = relu?((conv(x, weight) + bias) * scale + shift), computed as
   * relu?(conv(x, weight * scale) + (bias * scale + shift)). With a bias, a shift or a ReLU this is
   * one FusedConv2D kernel (bias add and ReLU inside the conv's output loop) where tfjs fuses:
   * always outside gradient recording, and for linear output inside it too (tfjs fuses ReLU only
   * when no gradient is recorded, and supports dilation > 1 in no fused gradient). `scale` and
   * `shift` are how an eval-mode BatchNorm is folded into its conv (BatchNorm2d.scaleShift()).
   */
  forwardFused(x: tf.Tensor4D, options: { scale?: tf.Tensor1D; shift?: tf.Tensor1D; relu?: boolean } = {}): tf.Tensor4D {
    if (x.rank !== 4 || x.shape[3] !== this.inChannels) {
      throw new Error(`Conv2d: expected NHWC input with ${this.inChannels} channels, got shape [${x.shape.join(', ')}]`);
    }
    const { scale, shift, relu: withRelu = false } = options;
    for (const [name, t] of [['scale', scale], ['shift', shift]] as const) {
      if (t !== undefined && (t.rank !== 1 || t.shape[0] !== this.outChannels)) {
        throw new Error(`Conv2d: option '${name}' must have shape [${this.outChannels}], got [${t.shape.join(', ')}]`);
      }
    }
    return tf.tidy(() => {
      const { filter, bias } = this.foldAffine(scale, shift);
      return this.convolve(x, filter, bias, withRelu);
    });
  }

  /**
   * conv -> eval-mode (or frozen) `norm` -> optional ReLU as one FusedConv2D, with the BatchNorm
   * folded into the filter and bias. While a gradient is recorded the fold is recomputed each call
   * (differentiable in every parameter). Otherwise (inference) the folded filter and bias are kept
   * and reused until one of the six variables is reassigned: a fresh filter tensor per call would
   * make wasm's XNNPACK re-pack its weights each time, which measured slower than not folding.
   */
  forwardFoldedBatchNorm(x: tf.Tensor4D, norm: BatchNorm2d, relu: boolean): tf.Tensor4D {
    if (norm.usesBatchStats) throw new Error('Conv2d: cannot fold a BatchNorm2d that uses batch statistics (training mode, not frozen)');
    if (norm.numFeatures !== this.outChannels) {
      throw new Error(`Conv2d: cannot fold a BatchNorm2d of ${norm.numFeatures} features into a conv of ${this.outChannels} output channels`);
    }
    if (tf.engine().state.gradientDepth > 0) {
      return tf.tidy(() => {
        const { scale, shift } = norm.scaleShift();
        return this.forwardFused(x, { scale, shift, relu });
      });
    }
    const sources = [this.weight, this.bias, norm.weight, norm.bias, norm.runningMean, norm.runningVar].map((v) => v?.dataId ?? null);
    let cache = this.foldCache;
    if (cache === null || cache.sources.some((id, i) => id !== sources[i])) {
      this.disposeFoldCache();
      const folded = tf.tidy(() => {
        const { scale, shift } = norm.scaleShift();
        const { filter, bias } = this.foldAffine(scale, shift);
        return { filter, bias: bias! };
      });
      cache = { sources, filter: tf.keep(folded.filter), bias: tf.keep(folded.bias) };
      this.foldCache = cache;
    }
    if (x.rank !== 4 || x.shape[3] !== this.inChannels) {
      throw new Error(`Conv2d: expected NHWC input with ${this.inChannels} channels, got shape [${x.shape.join(', ')}]`);
    }
    const { filter, bias } = cache;
    return tf.tidy(() => this.convolve(x, filter, bias, relu));
  }

  /**
   * Folds the eval-mode `norm` that follows this conv into the conv for good: weight = weight *
   * scale, bias = bias * scale + shift (a bias parameter is added if there was none), and `norm`
   * drops its parameters and running statistics (`norm.folded`). The pair then computes what it
   * computed in eval mode, as one conv; it is meant for inference (an exported model), since the
   * BatchNorm no longer normalises with batch statistics.
   */
  foldBatchNorm(norm: BatchNorm2d): void {
    if (norm.folded) throw new Error('Conv2d: this BatchNorm2d was already folded into a conv');
    if (norm.numFeatures !== this.outChannels) {
      throw new Error(`Conv2d: cannot fold a BatchNorm2d of ${norm.numFeatures} features into a conv of ${this.outChannels} output channels`);
    }
    const folded = tf.tidy(() => {
      const { scale, shift } = norm.scaleShift();
      const { filter, bias } = this.foldAffine(scale, shift);
      return { filter, bias: bias! };
    });
    this.weight.assign(folded.filter);
    folded.filter.dispose();
    if (this.biasVariable === null) {
      this.biasVariable = this.registerParameter('bias', folded.bias);
    } else {
      this.biasVariable.assign(folded.bias);
      folded.bias.dispose();
    }
    this.disposeFoldCache();
    norm.markFolded();
  }

  override dispose(): void {
    this.disposeFoldCache();
    super.dispose();
  }

  private disposeFoldCache(): void {
    if (this.foldCache === null) return;
    tf.dispose([this.foldCache.filter, this.foldCache.bias]);
    this.foldCache = null;
  }

  /** Filter and bias of conv-then-(y * scale + shift). */
  private foldAffine(scale: tf.Tensor1D | undefined, shift: tf.Tensor1D | undefined): { filter: tf.Tensor4D; bias: tf.Tensor1D | null } {
    // HWIO: the output channel is the last axis, so scale broadcasts over it.
    const filter = (scale === undefined ? this.weight : tf.mul(this.weight, scale)) as tf.Tensor4D;
    let bias: tf.Tensor1D | null = this.bias as tf.Tensor1D | null;
    if (bias !== null && scale !== undefined) bias = tf.mul(bias, scale) as tf.Tensor1D;
    if (shift !== undefined) bias = bias === null ? shift : (tf.add(bias, shift) as tf.Tensor1D);
    return { filter, bias };
  }

  private convolve(x: tf.Tensor4D, filter: tf.Tensor4D, bias: tf.Tensor1D | null, relu: boolean): tf.Tensor4D {
    const [ph, pw] = this.padding;
    // A scalar pad is torch's symmetric padding; tf's 'same' would pad asymmetrically for stride 2.
    const pad: number | ExplicitPadding = ph === pw ? ph : [[0, 0], [ph, ph], [pw, pw], [0, 0]];
    if (bias === null && !relu) return tf.conv2d(x, filter, this.stride, pad, 'NHWC', this.dilation);
    if (this.dilation[0] > 1 || this.dilation[1] > 1) {
      const y = tf.conv2d(x, filter, this.stride, pad, 'NHWC', this.dilation);
      const biased = (bias === null ? y : tf.add(y, bias)) as tf.Tensor4D;
      return relu ? tf.relu(biased) : biased;
    }
    return tf.fused.conv2d({ x, filter, strides: this.stride, pad, dataFormat: 'NHWC', bias: bias ?? undefined, activation: relu ? 'relu' : 'linear' });
  }
}

export interface BatchNorm2dOptions {
  /** Default 1e-5. */
  eps?: number;
  /** Weight of the new batch statistic in the running average (torch convention). Default 0.1. */
  momentum?: number;
}

/**
 * Batch normalisation over N, H, W of NHWC input. Parameters `weight`, `bias`; buffers
 * `running_mean`, `running_var` (torch names; torch's `num_batches_tracked` is not kept because
 * momentum is always set).
 *
 * Training mode (and not frozen): normalises with the batch mean and biased variance and updates
 * the running stats with the unbiased variance, as torch. The update is an assignment to
 * non-trainable variables, so gradients never flow through it. Eval mode or frozen: running stats.
 */
export class BatchNorm2d extends Module<tf.Tensor4D, tf.Tensor4D> {
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number;
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;
  readonly runningMean: tf.Variable;
  readonly runningVar: tf.Variable;

  constructor(numFeatures: number, options: BatchNorm2dOptions = {}) {
    super();
    checkOptionKeys('BatchNorm2d', options, ['eps', 'momentum']);
    this.numFeatures = checkPositiveInt('BatchNorm2d', 'numFeatures', numFeatures);
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum ?? 0.1;
    if (!(this.eps > 0)) throw new Error(`BatchNorm2d: option 'eps' must be > 0, got ${this.eps}`);
    if (!(this.momentum >= 0 && this.momentum <= 1)) {
      throw new Error(`BatchNorm2d: option 'momentum' must be in [0, 1], got ${this.momentum}`);
    }
    this.weight = this.registerParameter('weight', tf.ones([numFeatures]));
    this.bias = this.registerParameter('bias', tf.zeros([numFeatures]));
    this.runningMean = this.registerBuffer('running_mean', tf.zeros([numFeatures]));
    this.runningVar = this.registerBuffer('running_var', tf.ones([numFeatures]));
  }

  private foldedFlag = false;

  /** True once folded into the preceding conv (Conv2d.foldBatchNorm): it has no variables and is the identity. */
  get folded(): boolean {
    return this.foldedFlag;
  }

  /** True when the forward pass uses (and updates) batch statistics. */
  get usesBatchStats(): boolean {
    return this.training && !this.frozen && !this.foldedFlag;
  }

  /** Called by Conv2d.foldBatchNorm once the conv holds this normalisation. */
  markFolded(): void {
    if (this.foldedFlag) return;
    for (const name of ['weight', 'bias', 'running_mean', 'running_var']) this.removeVariable(name);
    this.foldedFlag = true;
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    if (x.rank !== 4 || x.shape[3] !== this.numFeatures) {
      throw new Error(`BatchNorm2d: expected NHWC input with ${this.numFeatures} channels, got shape [${x.shape.join(', ')}]`);
    }
    // Folded: the conv before it applies the normalisation.
    if (this.foldedFlag) return tf.clone(x);
    if (!this.usesBatchStats) {
      // Two full-size kernels (multiply, add). wasm's one-kernel FusedBatchNorm divides by a square
      // root per element and measured 1.6x slower than the pair on the backbone's maps.
      return tf.tidy(() => {
        const { scale, shift } = this.scaleShift();
        return tf.add(tf.mul(x, scale), shift);
      });
    }
    const count = x.shape[0] * x.shape[1] * x.shape[2];
    if (count < 2) {
      throw new Error(`BatchNorm2d: training needs more than 1 value per channel, got input shape [${x.shape.join(', ')}]`);
    }
    return batchNormTrain(x, this.weight as tf.Tensor1D, this.bias as tf.Tensor1D, this.eps, ({ mean, variance }) =>
      this.updateRunningStats(mean, variance, count),
    );
  }

  /**
   * The eval-mode normalisation as a per-channel affine map (y = x * scale + shift), from the
   * running stats; differentiable in weight and bias. Also what a conv folds in for inference.
   */
  scaleShift(): { scale: tf.Tensor1D; shift: tf.Tensor1D } {
    if (this.foldedFlag) throw new Error('BatchNorm2d: folded into its conv, it has no statistics left');
    return batchNormScaleShift(this.weight as tf.Tensor1D, this.bias as tf.Tensor1D, this.runningMean as tf.Tensor1D, this.runningVar as tf.Tensor1D, this.eps);
  }

  private updateRunningStats(mean: tf.Tensor, biasedVar: tf.Tensor, count: number): void {
    const m = this.momentum;
    tf.tidy(() => {
      this.runningMean.assign(tf.add(tf.mul(this.runningMean, 1 - m), tf.mul(mean, m)));
      const unbiased = tf.mul(biasedVar, count / (count - 1));
      this.runningVar.assign(tf.add(tf.mul(this.runningVar, 1 - m), tf.mul(unbiased, m)));
    });
  }
}

export interface GroupNormOptions {
  /** Default 1e-5. */
  eps?: number;
  /** Learnable per-channel `weight` (1) and `bias` (0). Default true. */
  affine?: boolean;
}

/** Group normalisation of NHWC input: statistics per sample over H, W and the group's channels. */
export class GroupNorm extends Module<tf.Tensor4D, tf.Tensor4D> {
  readonly numGroups: number;
  readonly numChannels: number;
  readonly eps: number;
  readonly weight: tf.Variable | null;
  readonly bias: tf.Variable | null;

  constructor(numGroups: number, numChannels: number, options: GroupNormOptions = {}) {
    super();
    checkOptionKeys('GroupNorm', options, ['eps', 'affine']);
    this.numGroups = checkPositiveInt('GroupNorm', 'numGroups', numGroups);
    this.numChannels = checkPositiveInt('GroupNorm', 'numChannels', numChannels);
    if (numChannels % numGroups !== 0) {
      throw new Error(`GroupNorm: numChannels ${numChannels} is not divisible by numGroups ${numGroups}`);
    }
    this.eps = options.eps ?? 1e-5;
    const affine = options.affine ?? true;
    this.weight = affine ? this.registerParameter('weight', tf.ones([numChannels])) : null;
    this.bias = affine ? this.registerParameter('bias', tf.zeros([numChannels])) : null;
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    if (x.rank !== 4 || x.shape[3] !== this.numChannels) {
      throw new Error(`GroupNorm: expected NHWC input with ${this.numChannels} channels, got shape [${x.shape.join(', ')}]`);
    }
    // One customGrad with the analytic backward (./group-norm.ts): ~4% of a head-heavy training
    // step less than autodiff of the composed ops, same forward values.
    return groupNorm(x, this.numGroups, this.eps, this.weight as tf.Tensor1D | null, this.bias as tf.Tensor1D | null);
  }
}

/** A learnable scalar multiplier `scale` (mmdet `Scale`, e.g. one per FPN level for box regression). */
export class Scale extends Module<tf.Tensor, tf.Tensor> {
  readonly scale: tf.Variable;

  constructor(initialValue = 1) {
    super();
    if (!Number.isFinite(initialValue)) throw new Error(`Scale: initial value must be finite, got ${initialValue}`);
    this.scale = this.registerParameter('scale', tf.scalar(initialValue, 'float32'));
  }

  forward(x: tf.Tensor): tf.Tensor {
    return tf.mul(x, this.scale);
  }
}

/** Element-wise max(x, 0). */
export function relu<T extends tf.Tensor>(x: T): T {
  return tf.relu(x);
}

/** Module form of `relu`, for use inside `Sequential`. */
export class ReLU extends Module<tf.Tensor4D, tf.Tensor4D> {
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.relu(x);
  }
}

/**
 * Max pooling with torch semantics: symmetric `padding` that never wins the max (as -inf
 * padding), floor output size.
 */
export function maxPool2d(x: tf.Tensor4D, kernelSize: number, stride: number, padding = 0): tf.Tensor4D {
  return tf.maxPool(x, kernelSize, stride, padding);
}
