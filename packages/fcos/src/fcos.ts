import * as tf from '@tensorflow/tfjs-core';
import { ProgressiveFocus } from '@hpf/loss';
import {
  buildDenseModel,
  createPointGenerator,
  DenseDetector,
  DistanceCoder,
  distanceBoxDecoder,
  resolveDetectorOptions,
  type DeferredLevel,
  type DenseDefaults,
  type DenseDetectorOptions,
  type DenseHeadOutput,
  type DetectorLoss,
  type DetectorTarget,
  type PriorTensors,
  type ResolvedDenseOptions,
  type SizeHW,
} from '@hpf/dense';
import { fcosLoss } from './loss.js';

export interface FcosOptions extends DenseDetectorOptions {
  /** Centre sampling (default true) and its radius in strides (default 1.5). */
  centerSampling?: boolean;
  centerSamplingRadius?: number;
  /** Per-level (lo, hi) ranges of the largest regression distance, in input pixels. */
  regressRanges?: Array<[number, number]>;
}

export interface FcosConfig extends ResolvedDenseOptions {
  strides: number[];
  regressRanges: Array<[number, number]>;
  centerSampling: boolean;
  centerSamplingRadius: number;
  bboxLossWeight: number;
  centernessLossWeight: number;
}

type FcosFixed = Omit<FcosConfig, keyof ResolvedDenseOptions>;

/** Published FCOS (mmdetection fcos_center-normbbox-centeronreg-giou, torchvision fcos) values, except the CPU-size network. */
export const FCOS_DEFAULTS: DenseDefaults & FcosFixed = {
  backbone: 'resnet18-mini',
  neckChannels: 64,
  featChannels: 64,
  stackedConvs: 4,
  test: { scoreThreshold: 0.05, nmsPre: 1000, iouThreshold: 0.5, maxPerImage: 100 },
  focus: { gamma: 2, alpha: 0.25 },
  strides: [8, 16, 32, 64, 128],
  regressRanges: [
    [-1, 64],
    [64, 128],
    [128, 256],
    [256, 512],
    [512, Infinity],
  ],
  centerSampling: true,
  centerSamplingRadius: 1.5,
  bboxLossWeight: 1,
  centernessLossWeight: 1,
};

/**
 * FCOS (Tian et al., ICCV 2019, with the later improvements: centre sampling, distances normalised
 * by the stride, centerness on the regression tower, GIoU): one point per location, focal loss (or HPF).
 */
export class FcosDetector extends DenseDetector<FcosConfig> {
  readonly coder = new DistanceCoder();

  constructor(options: FcosOptions) {
    const where = 'createFcos';
    const base = resolveDetectorOptions(where, options, FCOS_DEFAULTS, ['centerSampling', 'centerSamplingRadius', 'regressRanges']);
    const centerSampling = options.centerSampling ?? FCOS_DEFAULTS.centerSampling;
    if (typeof centerSampling !== 'boolean') throw new Error(`${where}: option 'centerSampling' must be a boolean, got ${String(centerSampling)}`);
    const centerSamplingRadius = options.centerSamplingRadius ?? FCOS_DEFAULTS.centerSamplingRadius;
    if (!(typeof centerSamplingRadius === 'number' && centerSamplingRadius > 0)) {
      throw new Error(`${where}: option 'centerSamplingRadius' must be a number > 0, got ${String(centerSamplingRadius)}`);
    }
    const regressRanges = (options.regressRanges ?? FCOS_DEFAULTS.regressRanges).map((r) => [...r] as [number, number]);
    if (regressRanges.length !== FCOS_DEFAULTS.strides.length || regressRanges.some((r) => r.length !== 2 || !(r[0] < r[1]))) {
      throw new Error(`${where}: option 'regressRanges' must be ${FCOS_DEFAULTS.strides.length} pairs [lo, hi] with lo < hi, got ${JSON.stringify(options.regressRanges)}`);
    }
    const config: FcosConfig = {
      ...base,
      strides: [...FCOS_DEFAULTS.strides],
      regressRanges,
      centerSampling,
      centerSamplingRadius,
      bboxLossWeight: FCOS_DEFAULTS.bboxLossWeight,
      centernessLossWeight: FCOS_DEFAULTS.centernessLossWeight,
    };
    const model = buildDenseModel(base, {
      extraConvs: 'on_output',
      reluBeforeExtraConvs: true,
      numAnchors: 1,
      headNorm: { type: 'gn', numGroups: 32 },
      centerness: true,
      scales: true,
      names: { cls: 'conv_cls', reg: 'conv_reg', centerness: 'conv_centerness' },
    });
    super('fcos', Object.freeze(config), model, createPointGenerator({ strides: config.strides }), new ProgressiveFocus(base.hpf));
  }

  protected loss(out: DenseHeadOutput, priors: PriorTensors, targets: readonly DetectorTarget[]): DetectorLoss {
    const c = this.config;
    // norm_on_bbox: distances in stride units, kept non-negative by a ReLU.
    const reg = out.reg.map((r) => tf.relu(r));
    try {
      return fcosLoss(
        { cls: out.cls, reg, centerness: out.centerness, points: priors.arrays, targets },
        {
          numClasses: c.numClasses,
          strides: c.strides,
          regressRanges: c.regressRanges,
          centerSampling: c.centerSampling,
          centerSamplingRadius: c.centerSamplingRadius,
          focus: this.focus,
          bboxLossWeight: c.bboxLossWeight,
          centernessLossWeight: c.centernessLossWeight,
        },
      );
    } finally {
      tf.dispose(reg);
    }
  }

  /**
   * Scores sigmoid(cls) * sigmoid(centerness); boxes from ReLU(distances) * stride around each
   * point, clipped: `this.coder.decode`'s arithmetic, on the CPU for the top-k points only.
   */
  protected decode(out: DenseHeadOutput, priors: PriorTensors, imageSize: SizeHW): DeferredLevel[] {
    const numClasses = this.config.numClasses;
    return out.cls.map((cls, l) => {
      const [n, h, w] = cls.shape;
      const m = h * w;
      const scores = tf.mul(tf.sigmoid(tf.reshape(cls, [n, m, numClasses])), tf.sigmoid(tf.reshape(out.centerness[l]!, [n, m, 1]))) as tf.Tensor3D;
      const regression = tf.reshape(tf.relu(out.reg[l]!), [n, m, 4]) as tf.Tensor3D;
      const decodeBox = distanceBoxDecoder({
        points: priors.arrays[l]!,
        pointDim: priors.levels[l]!.shape[1],
        numPriors: m,
        stride: this.config.strides[l]!,
        maxShape: this.coder.clipBorder ? imageSize : undefined,
      });
      return { scores, regression, decodeBox };
    });
  }
}

/** Builds an FCOS detector (see README for the options, defaults and deviations). */
export function createFcos(options: FcosOptions): FcosDetector {
  return new FcosDetector(options);
}
