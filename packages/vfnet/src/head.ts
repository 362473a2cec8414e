import * as tf from '@tensorflow/tfjs-core';
import { ConvModule, ConvTower, createHeadConv, createScales, fillUniform, Module, type Conv2d, type ModuleList, type Rng } from '@hpf/nn';
import { type DenseHeadOutput } from '@hpf/dense';
import { deformConv2dWithPlan, deformSamplingPlan, type DeformSamplingPlan } from './deform-conv.js';
import { scaleGradient } from './scale-gradient.js';

/**
 * mmcv's DeformConv2d (one offset group, no bias) over a precomputed sampling plan; the weight is
 * HWIO [3, 3, C, Cout] with mmcv's own init U(-1/sqrt(C k^2), 1/sqrt(C k^2)).
 */
export class DeformConv2d extends Module<{ x: tf.Tensor4D; plan: DeformSamplingPlan }, tf.Tensor4D> {
  readonly weight: tf.Variable;

  constructor(inChannels: number, outChannels: number, rng: Rng, kernelSize = 3) {
    super();
    const bound = 1 / Math.sqrt(inChannels * kernelSize * kernelSize);
    const values = fillUniform(new Float32Array(kernelSize * kernelSize * inChannels * outChannels), rng, -bound, bound);
    this.weight = this.registerParameter('weight', tf.tensor4d(values, [kernelSize, kernelSize, inChannels, outChannels]));
  }

  forward({ x, plan }: { x: tf.Tensor4D; plan: DeformSamplingPlan }): tf.Tensor4D {
    return deformConv2dWithPlan(x, plan, this.weight as tf.Tensor4D);
  }
}

export interface VfnetHeadOptions {
  inChannels: number;
  featChannels: number;
  stackedConvs: number;
  numClasses: number;
  strides: readonly number[];
  /** exp(output) x regDenom is the initial box side in pixels (mmdetection's reg_denoms). */
  regDenoms: readonly number[];
  /** Gradient share of the initial box that reaches it through the star offsets (published 0.1). */
  gradientMul: number;
  rng: Rng;
}

/**
 * The star-shaped sampling offsets of VFNet for initial box sides (l, t, r, b) in feature cells:
 * kernel point (ky, kx) of the 3x3 deformable conv samples the box's (top, middle, bottom) x
 * (left, centre, right) point, i.e. offset (dy, dx) = ({-t, 0, b}[ky], {-l, 0, r}[kx]) - (ky - 1, kx - 1).
 * sides [N, H, W, 4] -> offsets [N, H, W, 18] in (dy, dx) pairs. Caller owns the result.
 */
export function starOffsets(sides: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const [l, t, r, b] = tf.unstack(sides, 3);
    const zero = tf.zerosLike(l!);
    const ys = [tf.neg(t!), zero, b!];
    const xs = [tf.neg(l!), zero, r!];
    const channels: tf.Tensor[] = [];
    for (let ky = 0; ky < 3; ky++) {
      for (let kx = 0; kx < 3; kx++) {
        channels.push(tf.sub(ys[ky]!, ky - 1), tf.sub(xs[kx]!, kx - 1));
      }
    }
    return tf.stack(channels, 3) as tf.Tensor4D;
  });
}

/**
 * mmdetection's VFNetHead: GN cls and reg towers, then per level
 * - initial box sides: exp(Scale(vfnet_reg(vfnet_reg_conv(reg)))) x regDenom (pixels);
 * - star offsets from those sides / stride (gradient scaled by `gradientMul`), one sampling plan;
 * - refined sides: exp(Scale_refine(vfnet_reg_refine(relu(dconv(reg))))) x initial sides (detached);
 * - IoU-aware class scores: vfnet_cls(relu(dconv(cls))).
 * Output `reg` holds both boxes per location: channels 0-3 initial, 4-7 refined (l, t, r, b) in
 * pixels; no centerness.
 */
export class VfnetHead extends Module<tf.Tensor4D[], DenseHeadOutput> {
  readonly numClasses: number;
  readonly strides: readonly number[];
  readonly regDenoms: readonly number[];
  readonly gradientMul: number;
  private readonly clsConvs: ConvTower;
  private readonly regConvs: ConvTower;
  private readonly regConv: ConvModule;
  private readonly regOut: Conv2d;
  private readonly scaleList: ModuleList<tf.Tensor, tf.Tensor>;
  private readonly refineDconv: DeformConv2d;
  private readonly refineOut: Conv2d;
  private readonly refineScales: ModuleList<tf.Tensor, tf.Tensor>;
  private readonly clsDconv: DeformConv2d;
  private readonly clsOut: Conv2d;

  constructor(options: VfnetHeadOptions) {
    super();
    const { rng, featChannels, numClasses, strides, regDenoms } = options;
    if (regDenoms.length !== strides.length) throw new Error(`VfnetHead: ${regDenoms.length} regDenoms for ${strides.length} levels`);
    this.numClasses = numClasses;
    this.strides = [...strides];
    this.regDenoms = [...regDenoms];
    this.gradientMul = options.gradientMul;
    const norm = { type: 'gn', numGroups: 32 } as const;
    const tower = () => new ConvTower({ inChannels: options.inChannels, featChannels, numConvs: options.stackedConvs, norm, rng });
    this.clsConvs = this.registerModule('cls_convs', tower());
    this.regConvs = this.registerModule('reg_convs', tower());
    const towerOut = this.clsConvs.outChannels;
    this.regConv = this.registerModule(
      'vfnet_reg_conv',
      new ConvModule({ inChannels: towerOut, outChannels: featChannels, kernelSize: 3, padding: 1, norm, relu: true, weightInit: { kind: 'normal', std: 0.01 }, biasInit: 0, rng }),
    );
    this.regOut = this.registerModule('vfnet_reg', createHeadConv({ inChannels: featChannels, outChannels: 4, rng }));
    this.scaleList = this.registerModule('scales', createScales(strides.length));
    this.refineDconv = this.registerModule('vfnet_reg_refine_dconv', new DeformConv2d(towerOut, featChannels, rng));
    this.refineOut = this.registerModule('vfnet_reg_refine', createHeadConv({ inChannels: featChannels, outChannels: 4, rng }));
    this.refineScales = this.registerModule('scales_refine', createScales(strides.length));
    this.clsDconv = this.registerModule('vfnet_cls_dconv', new DeformConv2d(towerOut, featChannels, rng));
    this.clsOut = this.registerModule('vfnet_cls', createHeadConv({ inChannels: featChannels, outChannels: numClasses, priorProb: 0.01, rng }));
  }

  get clsConv(): Conv2d {
    return this.clsOut;
  }

  forward(features: tf.Tensor4D[]): DenseHeadOutput {
    if (features.length !== this.strides.length) throw new Error(`VfnetHead: expected ${this.strides.length} levels, got ${features.length}`);
    const [cls, reg] = tf.tidy(() => {
      const cls: tf.Tensor4D[] = [];
      const reg: tf.Tensor4D[] = [];
      features.forEach((x, l) => {
        const clsFeat = this.clsConvs.forward(x);
        const regFeat = this.regConvs.forward(x);
        const initial = tf.mul(tf.exp(this.scaleList.at(l).forward(this.regOut.forward(this.regConv.forward(regFeat)))), this.regDenoms[l]!) as tf.Tensor4D;
        const offsets = starOffsets(tf.div(scaleGradient(initial, this.gradientMul), this.strides[l]!) as tf.Tensor4D);
        const plan = deformSamplingPlan(offsets, [x.shape[1], x.shape[2]], [3, 3]);
        const refineFeat = tf.relu(this.refineDconv.forward({ x: regFeat, plan }));
        const refined = tf.mul(tf.exp(this.refineScales.at(l).forward(this.refineOut.forward(refineFeat))), scaleGradient(initial, 0));
        cls.push(this.clsOut.forward(tf.relu(this.clsDconv.forward({ x: clsFeat, plan }))));
        reg.push(tf.concat([initial, refined], 3) as tf.Tensor4D);
      });
      return [cls, reg];
    });
    return { cls: cls!, reg: reg!, centerness: [] };
  }
}
