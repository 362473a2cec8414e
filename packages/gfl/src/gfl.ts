import * as tf from '@tensorflow/tfjs-core';
import { ProgressiveFocus } from '@hpf/loss';
import {
  buildDenseModel,
  createAnchorGenerator,
  DenseDetector,
  DistanceCoder,
  priorCenters,
  resolveDetectorOptions,
  type DecodedLevel,
  type DenseDefaults,
  type DenseDetectorModel,
  type DenseDetectorOptions,
  type DenseHeadOutput,
  type DetectorLoss,
  type DetectorTarget,
  type PriorTensors,
  type ResolvedDenseOptions,
  type SizeHW,
} from '@hpf/dense';
import { GflHead } from './head.js';
import { integralDistances } from './integral.js';
import { gflLoss } from './loss.js';

export interface GflOptions extends DenseDetectorOptions {
  /** ATSS candidates per level and gt. Default 9. */
  topk?: number;
  /** Anchor side = octaveBaseScale * stride (the ATSS assigner's anchors). Default 8. */
  octaveBaseScale?: number;
  /** Largest distance bin (in strides) of the box distributions: regMax + 1 bins. Default 16. */
  regMax?: number;
}

export interface GflConfig extends ResolvedDenseOptions {
  topk: number;
  octaveBaseScale: number;
  regMax: number;
  strides: number[];
  bboxLossWeight: number;
  dflLossWeight: number;
}

/** Published GFL (mmdetection gfl_r50_fpn_1x) values, except the documented CPU-size network. */
export const GFL_DEFAULTS: DenseDefaults & Pick<GflConfig, 'topk' | 'octaveBaseScale' | 'regMax' | 'strides' | 'bboxLossWeight' | 'dflLossWeight'> = {
  backbone: 'resnet18-mini',
  neckChannels: 64,
  featChannels: 64,
  stackedConvs: 4,
  test: { scoreThreshold: 0.05, nmsPre: 1000, iouThreshold: 0.6, maxPerImage: 100 },
  // QFL's beta (no alpha): HPF moves beta per level.
  focus: { gamma: 2 },
  topk: 9,
  octaveBaseScale: 8,
  regMax: 16,
  strides: [8, 16, 32, 64, 128],
  bboxLossWeight: 2,
  dflLossWeight: 0.25,
};

/**
 * GFL (Li et al., "Generalized Focal Loss", NeurIPS 2020): ATSS assignment on one square anchor per
 * location, a joint class-quality score trained with quality focal loss (or HPF on its beta), box
 * sides as distributions over regMax + 1 bins trained with distribution focal loss and GIoU.
 */
export class GflDetector extends DenseDetector<GflConfig, DenseDetectorModel<GflHead>> {
  readonly coder = new DistanceCoder();

  constructor(options: GflOptions) {
    const where = 'createGfl';
    const base = resolveDetectorOptions(where, options, GFL_DEFAULTS, ['topk', 'octaveBaseScale', 'regMax']);
    const topk = options.topk ?? GFL_DEFAULTS.topk;
    if (!Number.isInteger(topk) || topk < 1) throw new Error(`${where}: option 'topk' must be a positive integer, got ${String(topk)}`);
    const octaveBaseScale = options.octaveBaseScale ?? GFL_DEFAULTS.octaveBaseScale;
    if (!(typeof octaveBaseScale === 'number' && octaveBaseScale > 0)) {
      throw new Error(`${where}: option 'octaveBaseScale' must be a number > 0, got ${String(octaveBaseScale)}`);
    }
    const regMax = options.regMax ?? GFL_DEFAULTS.regMax;
    if (!Number.isInteger(regMax) || regMax < 1) throw new Error(`${where}: option 'regMax' must be a positive integer, got ${String(regMax)}`);
    const config: GflConfig = {
      ...base,
      topk,
      octaveBaseScale,
      regMax,
      strides: [...GFL_DEFAULTS.strides],
      bboxLossWeight: GFL_DEFAULTS.bboxLossWeight,
      dflLossWeight: GFL_DEFAULTS.dflLossWeight,
    };
    // FPN P3-P7 with extra convs on the output, and GFL's own head (4 x (regMax + 1) bins per side).
    const model = buildDenseModel(base, { extraConvs: 'on_output', reluBeforeExtraConvs: false, head: (context) => new GflHead({ ...context, regMax }) });
    const anchors = createAnchorGenerator({ strides: config.strides, ratios: [1], octaveBaseScale, scalesPerOctave: 1 });
    super('gfl', Object.freeze(config), model, anchors, new ProgressiveFocus(base.hpf));
  }

  protected loss(out: DenseHeadOutput, priors: PriorTensors, targets: readonly DetectorTarget[]): DetectorLoss {
    const c = this.config;
    return gflLoss(
      { cls: out.cls, reg: out.reg, anchors: priors.arrays, strides: c.strides, targets },
      { numClasses: c.numClasses, topk: c.topk, regMax: c.regMax, focus: this.focus, bboxLossWeight: c.bboxLossWeight, dflLossWeight: c.dflLossWeight },
    );
  }

  /** Scores sigmoid(cls) (already quality-aware); boxes: expected bin distances x stride around the anchor centre, clipped. */
  protected decode(out: DenseHeadOutput, priors: PriorTensors, imageSize: SizeHW): DecodedLevel[] {
    const { numClasses, regMax, strides } = this.config;
    return out.cls.map((cls, l) => {
      const [n, h, w] = cls.shape;
      const m = h * w;
      const scores = tf.sigmoid(tf.reshape(cls, [n, m, numClasses]));
      const distances = tf.mul(integralDistances(tf.reshape(out.reg[l]!, [n, m, 4 * (regMax + 1)]), regMax), strides[l]!);
      const centers = tf.tensor2d(priorCenters(priors.arrays[l]!, 4), [m, 2]);
      const boxes = this.coder.decode(centers, distances, { maxShape: imageSize });
      return { scores: scores as tf.Tensor3D, boxes: boxes as tf.Tensor3D };
    });
  }
}

/** Builds a GFL detector (see README for the options, defaults and deviations). */
export function createGfl(options: GflOptions): GflDetector {
  return new GflDetector(options);
}
