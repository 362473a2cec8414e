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
import { VfnetHead } from './head.js';
import { vfnetLoss } from './loss.js';

export interface VfnetOptions extends DenseDetectorOptions {
  /** ATSS candidates per level and gt. Default 9. */
  topk?: number;
  /** ATSS anchor side = octaveBaseScale * stride. Default 8. */
  octaveBaseScale?: number;
  /** Initial box side = exp(output) x regDenom per level. Default [64, 128, 256, 512, 1024]. */
  regDenoms?: readonly number[];
}

export interface VfnetConfig extends ResolvedDenseOptions {
  topk: number;
  octaveBaseScale: number;
  regDenoms: number[];
  strides: number[];
  gradientMul: number;
  bboxLossWeight: number;
  bboxRefineLossWeight: number;
}

/** Published VFNet (mmdetection vfnet_r50_fpn_1x) values, except the documented CPU-size network. */
export const VFNET_DEFAULTS: DenseDefaults &
  Pick<VfnetConfig, 'topk' | 'octaveBaseScale' | 'regDenoms' | 'strides' | 'gradientMul' | 'bboxLossWeight' | 'bboxRefineLossWeight'> = {
  backbone: 'resnet18-mini',
  neckChannels: 64,
  featChannels: 64,
  stackedConvs: 3,
  test: { scoreThreshold: 0.05, nmsPre: 1000, iouThreshold: 0.6, maxPerImage: 100 },
  // VFL's negative term: gamma 2, alpha 0.75 (HPF: w = 1.5).
  focus: { gamma: 2, alpha: 0.75 },
  topk: 9,
  octaveBaseScale: 8,
  regDenoms: [64, 128, 256, 512, 1024],
  strides: [8, 16, 32, 64, 128],
  gradientMul: 0.1,
  bboxLossWeight: 1.5,
  bboxRefineLossWeight: 2,
};

/**
 * VarifocalNet (Zhang et al., "VarifocalNet: An IoU-aware Dense Object Detector", CVPR 2021): ATSS
 * assignment, an IoU-aware classification score trained with varifocal loss (or HPF on its
 * negative-term gamma), an initial box and a box refined through a star-shaped deformable
 * convolution, both trained with IoU-weighted GIoU.
 */
export class VfnetDetector extends DenseDetector<VfnetConfig, DenseDetectorModel<VfnetHead>> {
  readonly coder = new DistanceCoder();

  constructor(options: VfnetOptions) {
    const where = 'createVfnet';
    const base = resolveDetectorOptions(where, options, VFNET_DEFAULTS, ['topk', 'octaveBaseScale', 'regDenoms']);
    const topk = options.topk ?? VFNET_DEFAULTS.topk;
    if (!Number.isInteger(topk) || topk < 1) throw new Error(`${where}: option 'topk' must be a positive integer, got ${String(topk)}`);
    const octaveBaseScale = options.octaveBaseScale ?? VFNET_DEFAULTS.octaveBaseScale;
    if (!(typeof octaveBaseScale === 'number' && octaveBaseScale > 0)) {
      throw new Error(`${where}: option 'octaveBaseScale' must be a number > 0, got ${String(octaveBaseScale)}`);
    }
    const regDenoms = options.regDenoms ?? VFNET_DEFAULTS.regDenoms;
    if (!Array.isArray(regDenoms) || regDenoms.length !== VFNET_DEFAULTS.strides.length || !regDenoms.every((v) => typeof v === 'number' && v > 0)) {
      throw new Error(`${where}: option 'regDenoms' must be ${VFNET_DEFAULTS.strides.length} numbers > 0, got ${JSON.stringify(regDenoms)}`);
    }
    const config: VfnetConfig = {
      ...base,
      topk,
      octaveBaseScale,
      regDenoms: [...regDenoms],
      strides: [...VFNET_DEFAULTS.strides],
      gradientMul: VFNET_DEFAULTS.gradientMul,
      bboxLossWeight: VFNET_DEFAULTS.bboxLossWeight,
      bboxRefineLossWeight: VFNET_DEFAULTS.bboxRefineLossWeight,
    };
    // FPN P3-P7 with extra convs on the output after a ReLU (as vfnet_r50_fpn_1x), and VFNet's own head.
    const model = buildDenseModel(base, {
      extraConvs: 'on_output',
      reluBeforeExtraConvs: true,
      head: ({ inChannels, featChannels, stackedConvs, numClasses, rng }) =>
        new VfnetHead({ inChannels, featChannels, stackedConvs, numClasses, rng, strides: config.strides, regDenoms: config.regDenoms, gradientMul: config.gradientMul }),
    });
    // ATSS anchors centred on the cell corner (offset 0); their centres are VFNet's points.
    const anchors = createAnchorGenerator({ strides: config.strides, ratios: [1], octaveBaseScale, scalesPerOctave: 1 });
    super('vfnet', Object.freeze(config), model, anchors, new ProgressiveFocus(base.hpf));
  }

  protected loss(out: DenseHeadOutput, priors: PriorTensors, targets: readonly DetectorTarget[]): DetectorLoss {
    const c = this.config;
    return vfnetLoss(
      { cls: out.cls, reg: out.reg, anchors: priors.arrays, targets },
      { numClasses: c.numClasses, topk: c.topk, focus: this.focus, bboxLossWeight: c.bboxLossWeight, bboxRefineLossWeight: c.bboxRefineLossWeight },
    );
  }

  /** Scores sigmoid(cls) (IoU-aware); boxes: the refined sides around the anchor centre, clipped. */
  protected decode(out: DenseHeadOutput, priors: PriorTensors, imageSize: SizeHW): DecodedLevel[] {
    const numClasses = this.config.numClasses;
    return out.cls.map((cls, l) => {
      const [n, h, w] = cls.shape;
      const m = h * w;
      const scores = tf.sigmoid(tf.reshape(cls, [n, m, numClasses]));
      const refined = tf.slice(tf.reshape(out.reg[l]!, [n, m, 8]), [0, 0, 4], [-1, -1, 4]);
      const centers = tf.tensor2d(priorCenters(priors.arrays[l]!, 4), [m, 2]);
      const boxes = this.coder.decode(centers, refined, { maxShape: imageSize });
      return { scores: scores as tf.Tensor3D, boxes: boxes as tf.Tensor3D };
    });
  }
}

/** Builds a VFNet detector (see README for the options, defaults and deviations). */
export function createVfnet(options: VfnetOptions): VfnetDetector {
  return new VfnetDetector(options);
}
