import * as tf from '@tensorflow/tfjs-core';
import { ProgressiveFocus } from '@hpf/loss';
import {
  buildDenseModel,
  createAnchorGenerator,
  DeltaXYWHCoder,
  DenseDetector,
  resolveDetectorOptions,
  type DecodedLevel,
  type DenseDefaults,
  type DenseDetectorOptions,
  type DenseHeadOutput,
  type DetectorLoss,
  type DetectorTarget,
  type PriorTensors,
  type ResolvedDenseOptions,
  type SizeHW,
} from '@hpf/dense';
import { atssLoss } from './loss.js';

export interface AtssOptions extends DenseDetectorOptions {
  /** ATSS candidates per level and gt. Default 9. */
  topk?: number;
  /** Anchor side = octaveBaseScale * stride (one square anchor per location). Default 8. */
  octaveBaseScale?: number;
}

export interface AtssConfig extends ResolvedDenseOptions {
  topk: number;
  octaveBaseScale: number;
  strides: number[];
  /** DeltaXYWH coder stds (means 0). */
  coderStds: [number, number, number, number];
  bboxLossWeight: number;
  centernessLossWeight: number;
}

/** Published ATSS (mmdetection atss_r50_fpn_1x) values, except the documented CPU-size network. */
export const ATSS_DEFAULTS: DenseDefaults & Pick<AtssConfig, 'topk' | 'octaveBaseScale' | 'strides' | 'coderStds' | 'bboxLossWeight' | 'centernessLossWeight'> = {
  backbone: 'resnet18-mini',
  neckChannels: 64,
  featChannels: 64,
  stackedConvs: 4,
  test: { scoreThreshold: 0.05, nmsPre: 1000, iouThreshold: 0.6, maxPerImage: 100 },
  focus: { gamma: 2, alpha: 0.25 },
  topk: 9,
  octaveBaseScale: 8,
  strides: [8, 16, 32, 64, 128],
  coderStds: [0.1, 0.1, 0.2, 0.2],
  bboxLossWeight: 2,
  centernessLossWeight: 1,
};

/**
 * ATSS (Zhang et al., CVPR 2020): one square anchor per location, adaptive training sample
 * selection, a centerness branch, GIoU box loss weighted by centerness targets, focal loss (or HPF).
 */
export class AtssDetector extends DenseDetector<AtssConfig> {
  readonly coder: DeltaXYWHCoder;

  constructor(options: AtssOptions) {
    const where = 'createAtss';
    const base = resolveDetectorOptions(where, options, ATSS_DEFAULTS, ['topk', 'octaveBaseScale']);
    const topk = options.topk ?? ATSS_DEFAULTS.topk;
    if (!Number.isInteger(topk) || topk < 1) throw new Error(`${where}: option 'topk' must be a positive integer, got ${String(topk)}`);
    const octaveBaseScale = options.octaveBaseScale ?? ATSS_DEFAULTS.octaveBaseScale;
    if (!(typeof octaveBaseScale === 'number' && octaveBaseScale > 0)) {
      throw new Error(`${where}: option 'octaveBaseScale' must be a number > 0, got ${String(octaveBaseScale)}`);
    }
    const config: AtssConfig = {
      ...base,
      topk,
      octaveBaseScale,
      strides: [...ATSS_DEFAULTS.strides],
      coderStds: [...ATSS_DEFAULTS.coderStds],
      bboxLossWeight: ATSS_DEFAULTS.bboxLossWeight,
      centernessLossWeight: ATSS_DEFAULTS.centernessLossWeight,
    };
    const model = buildDenseModel(base, {
      extraConvs: 'on_output',
      reluBeforeExtraConvs: false,
      numAnchors: 1,
      headNorm: { type: 'gn', numGroups: 32 },
      centerness: true,
      scales: true,
      names: { cls: 'atss_cls', reg: 'atss_reg', centerness: 'atss_centerness' },
    });
    const anchors = createAnchorGenerator({ strides: config.strides, ratios: [1], octaveBaseScale, scalesPerOctave: 1 });
    super('atss', Object.freeze(config), model, anchors, new ProgressiveFocus(base.hpf));
    this.coder = new DeltaXYWHCoder({ stds: config.coderStds });
  }

  protected loss(out: DenseHeadOutput, priors: PriorTensors, targets: readonly DetectorTarget[]): DetectorLoss {
    const c = this.config;
    return atssLoss(
      { cls: out.cls, reg: out.reg, centerness: out.centerness, anchors: priors.arrays, targets },
      { numClasses: c.numClasses, topk: c.topk, coder: this.coder, focus: this.focus, bboxLossWeight: c.bboxLossWeight, centernessLossWeight: c.centernessLossWeight },
    );
  }

  /** Scores sigmoid(cls) * sigmoid(centerness) (mmdetection's score_factors), boxes decoded and clipped. */
  protected decode(out: DenseHeadOutput, priors: PriorTensors, imageSize: SizeHW): DecodedLevel[] {
    const numClasses = this.config.numClasses;
    return out.cls.map((cls, l) => {
      const [n, h, w] = cls.shape;
      const m = h * w;
      const scores = tf.mul(tf.sigmoid(tf.reshape(cls, [n, m, numClasses])), tf.sigmoid(tf.reshape(out.centerness[l]!, [n, m, 1])));
      const boxes = this.coder.decode(priors.levels[l]!, tf.reshape(out.reg[l]!, [n, m, 4]), imageSize);
      return { scores: scores as tf.Tensor3D, boxes: boxes as tf.Tensor3D };
    });
  }
}

/** Builds an ATSS detector (see README for the options, defaults and deviations). */
export function createAtss(options: AtssOptions): AtssDetector {
  return new AtssDetector(options);
}
