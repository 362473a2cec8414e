import * as tf from '@tensorflow/tfjs-core';
import { ConvModule, Conv2d, createHeadConv, createScales, DEFAULT_PRIOR_PROB, Module, ModuleList, type Rng } from '@hpf/nn';
import { deformSampling } from './deform-sampling.js';

export interface ToodHeadOptions {
  inChannels: number;
  featChannels: number;
  /** Task-interactive convs (published 6). */
  stackedConvs: number;
  numClasses: number;
  numLevels: number;
  /** Strides of the levels (boxes are predicted in stride units and returned in pixels). */
  strides: readonly number[];
  rng: Rng;
}

/** Per level: `cls` the logit of TOOD's aligned score [N, H, W, C]; `boxes` aligned boxes in pixels [N, H, W, 4]. */
export interface ToodHeadOutput {
  cls: tf.Tensor4D[];
  boxes: tf.Tensor4D[];
}

const GN = { type: 'gn', numGroups: 32 } as const;

/**
 * conv -> ReLU -> conv, registered as mmdetection's nn.Sequential names them ('0' and '2'; the ReLU
 * at index 1 has no weights), so parameter names match (`layer_attention.0.weight`, ...).
 */
class ConvReluConv extends Module<tf.Tensor4D, tf.Tensor4D> {
  constructor(
    readonly first: Conv2d,
    readonly second: Conv2d,
  ) {
    super();
    this.registerModule('0', first);
    this.registerModule('2', second);
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.second.forward(tf.relu(this.first.forward(x))));
  }
}

/**
 * TOOD's task decomposition (mmdetection TaskDecomposition): layer attention from the pooled
 * task-interactive features (1x1 conv, ReLU, 1x1 conv, sigmoid: one weight per interactive layer)
 * scales each layer's features, then a 1x1 reduction conv with GN and ReLU. Scaling the features
 * before the conv equals mmdetection's scaling of the conv weight per layer.
 */
class TaskDecomposition extends Module<{ feat: tf.Tensor4D; avg: tf.Tensor4D }, tf.Tensor4D> {
  private readonly attention: ConvReluConv;
  private readonly reduction: ConvModule;

  constructor(
    private readonly featChannels: number,
    private readonly stackedConvs: number,
    rng: Rng,
  ) {
    super();
    const inChannels = featChannels * stackedConvs;
    const hidden = Math.max(1, Math.floor(inChannels / (stackedConvs * 8)));
    // mmdetection's layer_attention is nn.Sequential(conv, ReLU, conv, Sigmoid): children 0 and 2
    this.attention = this.registerModule(
      'layer_attention',
      new ConvReluConv(
        new Conv2d({ inChannels, outChannels: hidden, kernelSize: 1, weightInit: { kind: 'normal', std: 0.001 }, biasInit: 0, rng }),
        new Conv2d({ inChannels: hidden, outChannels: stackedConvs, kernelSize: 1, weightInit: { kind: 'normal', std: 0.001 }, biasInit: 0, rng }),
      ),
    );
    this.reduction = this.registerModule(
      'reduction_conv',
      new ConvModule({ inChannels, outChannels: featChannels, kernelSize: 1, norm: GN, relu: true, weightInit: { kind: 'normal', std: 0.01 }, rng }),
    );
  }

  forward({ feat, avg }: { feat: tf.Tensor4D; avg: tf.Tensor4D }): tf.Tensor4D {
    return tf.tidy(() => {
      const weight = tf.sigmoid(this.attention.forward(avg)); // [N, 1, 1, S]
      const [n, h, w] = feat.shape;
      const scaled = tf.mul(tf.reshape(feat, [n, h, w, this.stackedConvs, this.featChannels]), tf.reshape(weight, [n, 1, 1, this.stackedConvs, 1]));
      return this.reduction.forward(tf.reshape(scaled, [n, h, w, this.stackedConvs * this.featChannels]) as tf.Tensor4D);
    });
  }
}

/**
 * TOOD's task-aligned head (T-head, Feng et al., ICCV 2021; mmdetection TOODHead, anchor-free
 * regression): a stack of task-interactive 3x3 convs (GN, ReLU) whose outputs are concatenated;
 * per task a TaskDecomposition; classification aligned as sqrt(sigmoid(cls) * sigmoid(M)) with M a
 * probability map from the interactive features; boxes as distances (exp, times a per-level Scale)
 * from the grid point, in stride units, aligned by sampling the box map at learned per-side offsets
 * (`deformSampling`).
 */
export class ToodHead extends Module<tf.Tensor4D[], ToodHeadOutput> {
  readonly numClasses: number;
  readonly strides: readonly number[];
  private readonly interConvs: ModuleList<tf.Tensor4D, tf.Tensor4D>;
  private readonly clsDecomp: TaskDecomposition;
  private readonly regDecomp: TaskDecomposition;
  private readonly clsOut: Conv2d;
  private readonly regOut: Conv2d;
  private readonly clsProb: ConvReluConv;
  private readonly regOffset: ConvReluConv;
  private readonly scaleList: ModuleList<tf.Tensor, tf.Tensor>;

  constructor(options: ToodHeadOptions) {
    super();
    const { featChannels: f, stackedConvs: s, rng } = options;
    this.numClasses = options.numClasses;
    this.strides = [...options.strides];
    this.interConvs = this.registerModule(
      'inter_convs',
      new ModuleList(
        Array.from(
          { length: s },
          (_, i) =>
            new ConvModule({ inChannels: i === 0 ? options.inChannels : f, outChannels: f, kernelSize: 3, padding: 1, norm: GN, relu: true, weightInit: { kind: 'normal', std: 0.01 }, rng }),
        ),
      ),
    );
    this.clsDecomp = this.registerModule('cls_decomp', new TaskDecomposition(f, s, rng));
    this.regDecomp = this.registerModule('reg_decomp', new TaskDecomposition(f, s, rng));
    this.clsOut = this.registerModule('tood_cls', createHeadConv({ inChannels: f, outChannels: options.numClasses, priorProb: DEFAULT_PRIOR_PROB, rng }));
    this.regOut = this.registerModule('tood_reg', createHeadConv({ inChannels: f, outChannels: 4, rng }));
    const quarter = Math.max(1, Math.floor(f / 4));
    this.clsProb = this.registerModule(
      'cls_prob_module',
      new ConvReluConv(
        createHeadConv({ inChannels: f * s, outChannels: quarter, kernelSize: 1, rng }),
        createHeadConv({ inChannels: quarter, outChannels: 1, priorProb: DEFAULT_PRIOR_PROB, rng }),
      ),
    );
    this.regOffset = this.registerModule(
      'reg_offset_module',
      new ConvReluConv(
        createHeadConv({ inChannels: f * s, outChannels: quarter, kernelSize: 1, std: 0.001, rng }),
        createHeadConv({ inChannels: quarter, outChannels: 8, std: 0.001, rng }),
      ),
    );
    this.scaleList = this.registerModule('scales', createScales(options.numLevels));
  }

  forward(features: tf.Tensor4D[]): ToodHeadOutput {
    const cls: tf.Tensor4D[] = [];
    const boxes: tf.Tensor4D[] = [];
    features.forEach((x, l) => {
      const [logits, box] = tf.tidy(() => {
        const inter: tf.Tensor4D[] = [];
        let y = x;
        for (let i = 0; i < this.interConvs.length; i++) {
          y = this.interConvs.at(i).forward(y);
          inter.push(y);
        }
        const feat = tf.concat(inter, 3) as tf.Tensor4D;
        const avg = tf.mean(feat, [1, 2], true) as tf.Tensor4D;
        const clsFeat = this.clsDecomp.forward({ feat, avg });
        const regFeat = this.regDecomp.forward({ feat, avg });
        // aligned score p = sqrt(sigmoid(a) sigmoid(b)); returned as its logit so the focal / quality
        // focal losses of @hpf/loss (which take logits) apply unchanged: log p = -(softplus(-a) + softplus(-b)) / 2.
        const a = this.clsOut.forward(clsFeat);
        const b = this.clsProb.forward(feat);
        const logP = tf.mul(tf.add(tf.softplus(tf.neg(a)), tf.softplus(tf.neg(b))), -0.5);
        const log1mP = tf.log(tf.maximum(tf.sub(1, tf.exp(logP)), 1e-7));
        const logit = tf.sub(logP, log1mP) as tf.Tensor4D;
        // boxes in stride units around the grid point (x, y), then offset-aligned, then to pixels
        const [, h, w] = x.shape;
        const dist = this.scaleList.at(l).forward(tf.exp(this.regOut.forward(regFeat))) as tf.Tensor4D;
        const [dl, dt, dr, db] = tf.unstack(dist, 3);
        const gx = tf.reshape(tf.range(0, w, 1, 'float32'), [1, 1, w]);
        const gy = tf.reshape(tf.range(0, h, 1, 'float32'), [1, h, 1]);
        const raw = tf.stack([tf.sub(gx, dl!), tf.sub(gy, dt!), tf.add(gx, dr!), tf.add(gy, db!)], 3) as tf.Tensor4D;
        const offset = this.regOffset.forward(feat);
        const aligned = tf.mul(deformSampling(raw, offset), this.strides[l]!) as tf.Tensor4D;
        return [logit, aligned];
      });
      cls.push(logits);
      boxes.push(box);
    });
    return { cls, boxes };
  }
}
