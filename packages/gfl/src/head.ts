import * as tf from '@tensorflow/tfjs-core';
import { ConvTower, createHeadConv, createScales, Module, type Conv2d, type ModuleList, type Rng } from '@hpf/nn';
import { type DenseHeadOutput } from '@hpf/dense';

export interface GflHeadOptions {
  inChannels: number;
  featChannels: number;
  stackedConvs: number;
  numClasses: number;
  numLevels: number;
  /** Largest bin of the box-side distributions: reg_max + 1 bins per side. */
  regMax: number;
  rng: Rng;
}

/**
 * mmdetection's GFLHead: GN cls and reg towers shared over levels, `gfl_cls` (C joint
 * class-quality logits) and `gfl_reg` (4 x (regMax + 1) bin logits per location, times the level's
 * Scale). @hpf/dense's DenseHead fixes the reg conv at 4 channels per prior, so GFL builds its own head
 * from the same blocks (ConvTower, createHeadConv, createScales).
 */
export class GflHead extends Module<tf.Tensor4D[], DenseHeadOutput> {
  readonly numClasses: number;
  readonly numLevels: number;
  readonly regMax: number;
  private readonly clsConvs: ConvTower;
  private readonly regConvs: ConvTower;
  private readonly clsOut: Conv2d;
  private readonly regOut: Conv2d;
  private readonly scaleList: ModuleList<tf.Tensor, tf.Tensor>;

  constructor(options: GflHeadOptions) {
    super();
    const { rng, featChannels, numClasses, numLevels, regMax } = options;
    if (!Number.isInteger(regMax) || regMax < 1) throw new Error(`GflHead: option 'regMax' must be a positive integer, got ${String(regMax)}`);
    this.numClasses = numClasses;
    this.numLevels = numLevels;
    this.regMax = regMax;
    const norm = { type: 'gn', numGroups: 32 } as const;
    const tower = () => new ConvTower({ inChannels: options.inChannels, featChannels, numConvs: options.stackedConvs, norm, rng });
    this.clsConvs = this.registerModule('cls_convs', tower());
    this.regConvs = this.registerModule('reg_convs', tower());
    const towerOut = this.clsConvs.outChannels;
    this.clsOut = this.registerModule('gfl_cls', createHeadConv({ inChannels: towerOut, outChannels: numClasses, priorProb: 0.01, rng }));
    this.regOut = this.registerModule('gfl_reg', createHeadConv({ inChannels: towerOut, outChannels: 4 * (regMax + 1), rng }));
    this.scaleList = this.registerModule('scales', createScales(numLevels));
  }

  get clsConv(): Conv2d {
    return this.clsOut;
  }

  get regConv(): Conv2d {
    return this.regOut;
  }

  /** cls [N, H, W, C] logits and reg [N, H, W, 4 (regMax + 1)] bin logits per level; no centerness. */
  forward(features: tf.Tensor4D[]): DenseHeadOutput {
    if (features.length !== this.numLevels) throw new Error(`GflHead: expected ${this.numLevels} levels, got ${features.length}`);
    const [cls, reg] = tf.tidy(() => {
      const cls: tf.Tensor4D[] = [];
      const reg: tf.Tensor4D[] = [];
      features.forEach((x, l) => {
        cls.push(this.clsOut.forward(this.clsConvs.forward(x)));
        reg.push(this.scaleList.at(l).forward(this.regOut.forward(this.regConvs.forward(x))) as tf.Tensor4D);
      });
      return [cls, reg];
    });
    return { cls: cls!, reg: reg!, centerness: [] };
  }
}
