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
import { paaLoss } from './loss.js';

export interface PaaOptions extends DenseDetectorOptions {
  /** Candidates per level and gt pooled for the mixture. Default 9. */
  topk?: number;
  /** Anchor side = octaveBaseScale * stride (one square anchor per location). Default 8. */
  octaveBaseScale?: number;
}

export interface PaaConfig extends ResolvedDenseOptions {
  topk: number;
  octaveBaseScale: number;
  strides: number[];
  candidateIouThr: number;
  ignoreIofThr: number;
  coderStds: [number, number, number, number];
  bboxLossWeight: number;
  iouLossWeight: number;
}

type PaaFixed = Omit<PaaConfig, keyof ResolvedDenseOptions>;

/** Published PAA (mmdetection paa_r50_fpn_1x) values, except the documented CPU-size network. */
export const PAA_DEFAULTS: DenseDefaults & PaaFixed = {
  backbone: 'resnet18-mini',
  neckChannels: 64,
  featChannels: 64,
  stackedConvs: 4,
  test: { scoreThreshold: 0.05, nmsPre: 1000, iouThreshold: 0.6, maxPerImage: 100 },
  focus: { gamma: 2, alpha: 0.25 },
  topk: 9,
  octaveBaseScale: 8,
  strides: [8, 16, 32, 64, 128],
  candidateIouThr: 0.1,
  ignoreIofThr: 0.5,
  coderStds: [0.1, 0.1, 0.2, 0.2],
  bboxLossWeight: 1.3,
  iouLossWeight: 0.5,
};

/**
 * PAA (Kim & Lee, "Probabilistic Anchor Assignment with IoU Prediction for Object Detection",
 * ECCV 2020): ATSS's network (one anchor per location, GN towers, Scales) with an IoU-prediction
 * branch, anchors assigned by a Gaussian mixture over their current loss, focal loss (or HPF),
 * GIoU box loss weighted by IoU, BCE on the IoU prediction.
 */
export class PaaDetector extends DenseDetector<PaaConfig> {
  readonly coder: DeltaXYWHCoder;

  constructor(options: PaaOptions) {
    const where = 'createPaa';
    const d = PAA_DEFAULTS;
    const base = resolveDetectorOptions(where, options, d, ['topk', 'octaveBaseScale']);
    const topk = options.topk ?? d.topk;
    if (!Number.isInteger(topk) || topk < 1) throw new Error(`${where}: option 'topk' must be a positive integer, got ${String(topk)}`);
    const octaveBaseScale = options.octaveBaseScale ?? d.octaveBaseScale;
    if (!(typeof octaveBaseScale === 'number' && octaveBaseScale > 0)) {
      throw new Error(`${where}: option 'octaveBaseScale' must be a number > 0, got ${String(octaveBaseScale)}`);
    }
    const { backbone: _b, neckChannels: _n, featChannels: _f, stackedConvs: _s, test: _t, focus: _fo, ...fixed } = d;
    const config: PaaConfig = { ...base, ...fixed, strides: [...fixed.strides], coderStds: [...fixed.coderStds], topk, octaveBaseScale };
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
    super('paa', Object.freeze(config), model, anchors, new ProgressiveFocus(base.hpf));
    this.coder = new DeltaXYWHCoder({ stds: config.coderStds });
  }

  protected loss(out: DenseHeadOutput, priors: PriorTensors, targets: readonly DetectorTarget[]): DetectorLoss {
    const c = this.config;
    const { losses, total, stats } = paaLoss(
      { cls: out.cls, reg: out.reg, iou: out.centerness, anchors: priors.arrays, targets },
      {
        numClasses: c.numClasses,
        topk: c.topk,
        candidateIouThr: c.candidateIouThr,
        ignoreIofThr: c.ignoreIofThr,
        coder: this.coder,
        focus: this.focus,
        scoringFocus: PAA_DEFAULTS.focus as { gamma: number; alpha: number },
        bboxLossWeight: c.bboxLossWeight,
        iouLossWeight: c.iouLossWeight,
      },
    );
    return { losses, total, stats };
  }

  /** Scores sqrt(sigmoid(cls) * sigmoid(iou)) (mmdetection PAAHead), boxes decoded and clipped. */
  protected decode(out: DenseHeadOutput, priors: PriorTensors, imageSize: SizeHW): DecodedLevel[] {
    const numClasses = this.config.numClasses;
    return out.cls.map((cls, l) => {
      const [n, h, w] = cls.shape;
      const m = h * w;
      const scores = tf.sqrt(tf.mul(tf.sigmoid(tf.reshape(cls, [n, m, numClasses])), tf.sigmoid(tf.reshape(out.centerness[l]!, [n, m, 1]))));
      const boxes = this.coder.decode(priors.levels[l]!, tf.reshape(out.reg[l]!, [n, m, 4]), imageSize);
      return { scores: scores as tf.Tensor3D, boxes: boxes as tf.Tensor3D };
    });
  }
}

/** Builds a PAA detector (see README for the options, defaults and deviations). */
export function createPaa(options: PaaOptions): PaaDetector {
  return new PaaDetector(options);
}
