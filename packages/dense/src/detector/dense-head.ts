import * as tf from '@tensorflow/tfjs-core';
import {
  Module,
  ModuleList,
  type AnyModule,
  type NormConfig,
  type Conv2d,
  type Rng,
  checkOptionKeys,
  checkPositiveInt,
  ConvTower,
  createHeadConv,
  createScales,
  DEFAULT_PRIOR_PROB,
  type BackboneFeatures,
  type ResNet,
  type Fpn,
} from '@hpf/nn';

export interface DenseHeadOptions {
  inChannels: number;
  featChannels: number;
  /** 3x3 convs per tower (cls and reg towers are separate, shared over levels). */
  stackedConvs: number;
  numClasses: number;
  /** Priors per location (RetinaNet 9, ATSS/FCOS 1). */
  numAnchors: number;
  /** Pyramid levels (one Scale each when `scales`). */
  numLevels: number;
  /** Tower norm: GroupNorm (FCOS/ATSS) or null (RetinaNet). */
  norm: NormConfig | null;
  /** A 1-channel-per-anchor centerness conv on the reg tower (FCOS with centerness_on_reg, ATSS). */
  centerness: boolean;
  /** A learnable Scale per level multiplying the regression output (FCOS, ATSS). */
  scales: boolean;
  /** Registration names of the prediction convs (mmdetection's: atss_cls, retina_reg, conv_centerness ...). */
  names: { cls: string; reg: string; centerness?: string };
  /** Initial foreground probability of the classifier (default 0.01). */
  priorProb?: number;
  rng: Rng;
}

/** Raw per-level outputs: cls [N, H, W, A * C], reg [N, H, W, A * 4], centerness [N, H, W, A] (empty without the branch). */
export interface DenseHeadOutput {
  cls: tf.Tensor4D[];
  reg: tf.Tensor4D[];
  centerness: tf.Tensor4D[];
}

const HEAD_KEYS = ['inChannels', 'featChannels', 'stackedConvs', 'numClasses', 'numAnchors', 'numLevels', 'norm', 'centerness', 'scales', 'names', 'priorProb', 'rng'];

/**
 * The dense-head skeleton RetinaNet, FCOS, ATSS (and GFL, VFNet ...) share: a classification tower
 * and a regression tower (3x3 conv, norm, ReLU) applied to every level with the same weights, a cls
 * conv (bias from the prior probability), a reg conv (times a per-level Scale when asked) and an
 * optional centerness conv on the regression tower. mmdetection names: cls_convs, reg_convs, scales.
 */
export class DenseHead extends Module<tf.Tensor4D[], DenseHeadOutput> {
  readonly numClasses: number;
  readonly numAnchors: number;
  readonly numLevels: number;
  private readonly clsConvs: ConvTower;
  private readonly regConvs: ConvTower;
  private readonly clsOut: Conv2d;
  private readonly regOut: Conv2d;
  private readonly centernessOut: Conv2d | null;
  private readonly scaleList: ModuleList<tf.Tensor, tf.Tensor> | null;

  constructor(options: DenseHeadOptions) {
    super();
    const where = 'DenseHead';
    checkOptionKeys(where, options, HEAD_KEYS);
    this.numClasses = checkPositiveInt(where, 'numClasses', options.numClasses);
    this.numAnchors = checkPositiveInt(where, 'numAnchors', options.numAnchors);
    this.numLevels = checkPositiveInt(where, 'numLevels', options.numLevels);
    const { rng, norm, featChannels } = options;
    const tower = () => new ConvTower({ inChannels: options.inChannels, featChannels, numConvs: options.stackedConvs, norm, rng });
    this.clsConvs = this.registerModule('cls_convs', tower());
    this.regConvs = this.registerModule('reg_convs', tower());
    const towerOut = this.clsConvs.outChannels;
    const a = this.numAnchors;
    this.clsOut = this.registerModule(
      options.names.cls,
      createHeadConv({ inChannels: towerOut, outChannels: a * this.numClasses, priorProb: options.priorProb ?? DEFAULT_PRIOR_PROB, rng }),
    );
    this.regOut = this.registerModule(options.names.reg, createHeadConv({ inChannels: towerOut, outChannels: a * 4, rng }));
    if (options.centerness) {
      const name = options.names.centerness;
      if (name === undefined) throw new Error(`${where}: option 'names.centerness' is required with centerness`);
      this.centernessOut = this.registerModule(name, createHeadConv({ inChannels: towerOut, outChannels: a, rng }));
    } else {
      this.centernessOut = null;
    }
    this.scaleList = options.scales ? this.registerModule('scales', createScales(this.numLevels)) : null;
  }

  /** The cls conv (for tests and tools that set prediction weights). */
  get clsConv(): Conv2d {
    return this.clsOut;
  }

  get regConv(): Conv2d {
    return this.regOut;
  }

  get centernessConv(): Conv2d | null {
    return this.centernessOut;
  }

  forward(features: tf.Tensor4D[]): DenseHeadOutput {
    if (features.length !== this.numLevels) throw new Error(`DenseHead: expected ${this.numLevels} levels, got ${features.length}`);
    const [cls, reg, centerness] = tf.tidy(() => {
      const cls: tf.Tensor4D[] = [];
      const reg: tf.Tensor4D[] = [];
      const centerness: tf.Tensor4D[] = [];
      features.forEach((x, l) => {
        cls.push(this.clsOut.forward(this.clsConvs.forward(x)));
        const regFeat = this.regConvs.forward(x);
        const raw = this.regOut.forward(regFeat);
        reg.push(this.scaleList === null ? raw : (this.scaleList.at(l).forward(raw) as tf.Tensor4D));
        if (this.centernessOut !== null) centerness.push(this.centernessOut.forward(regFeat));
      });
      return [cls, reg, centerness];
    });
    return { cls: cls!, reg: reg!, centerness: centerness! };
  }
}

/** What a head's `forward` returns (DenseHeadOutput for the DenseHead here, an adapter's own type otherwise). */
export type HeadOutputOf<Head extends AnyModule> = ReturnType<Head['forward']>;

/**
 * backbone -> FPN -> dense head, registered as mmdetection names them (backbone, neck, bbox_head).
 * Generic over the head, so an adapter with its own head (GFL's distributions, VFNet's deformable
 * refinement, TOOD's T-head) reuses this network instead of declaring one.
 */
export class DenseDetectorModel<Head extends AnyModule = DenseHead> extends Module<tf.Tensor4D, HeadOutputOf<Head>> {
  readonly backbone: ResNet;
  readonly neck: Fpn;
  readonly head: Head;

  constructor(backbone: ResNet, neck: Fpn, head: Head) {
    super();
    this.backbone = this.registerModule('backbone', backbone);
    this.neck = this.registerModule('neck', neck);
    this.head = this.registerModule('bbox_head', head);
  }

  /** Strides of the head's levels. */
  get strides(): number[] {
    return this.neck.strides;
  }

  forward(images: tf.Tensor4D): HeadOutputOf<Head> {
    const features: BackboneFeatures = this.backbone.forward(images);
    const pyramid = this.neck.forward(features);
    tf.dispose(features);
    const out = this.head.forward(pyramid) as HeadOutputOf<Head>;
    tf.dispose(pyramid);
    return out;
  }
}
