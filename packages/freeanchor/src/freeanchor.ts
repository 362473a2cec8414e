import { ProgressiveFocus } from '@hpf/loss';
import {
  buildRetinaNetwork,
  decodeRetinaLevels,
  DeltaXYWHCoder,
  DenseDetector,
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
import { freeAnchorLoss } from './loss.js';

export interface FreeAnchorOptions extends DenseDetectorOptions {
  /** Anchor base side = octaveBaseScale * stride; scales octaveBaseScale * 2^(i / 3). Default 4. */
  octaveBaseScale?: number;
  /** Anchors per object bag. Default 50. */
  preAnchorTopk?: number;
  /** t1 of the saturated linear box probability. Default 0.6. */
  bboxThr?: number;
}

export interface FreeAnchorConfig extends ResolvedDenseOptions {
  octaveBaseScale: number;
  scalesPerOctave: number;
  ratios: number[];
  strides: number[];
  preAnchorTopk: number;
  bboxThr: number;
  /** Published focal parameters of the negative bag loss (HPF centres on them). */
  gamma: number;
  alpha: number;
  coderStds: [number, number, number, number];
  smoothL1Beta: number;
  bboxLossWeight: number;
  ignoreIofThr: number;
}

type FreeAnchorFixed = Omit<FreeAnchorConfig, keyof ResolvedDenseOptions>;

/** Published FreeAnchor (mmdetection freeanchor_r50_fpn_1x) values, except the documented CPU-size network. */
export const FREEANCHOR_DEFAULTS: DenseDefaults & FreeAnchorFixed = {
  backbone: 'resnet18-mini',
  neckChannels: 64,
  featChannels: 64,
  stackedConvs: 4,
  test: { scoreThreshold: 0.05, nmsPre: 1000, iouThreshold: 0.5, maxPerImage: 100 },
  focus: { gamma: 2, alpha: 0.5 },
  octaveBaseScale: 4,
  scalesPerOctave: 3,
  ratios: [0.5, 1, 2],
  strides: [8, 16, 32, 64, 128],
  preAnchorTopk: 50,
  bboxThr: 0.6,
  gamma: 2,
  alpha: 0.5,
  coderStds: [0.1, 0.1, 0.2, 0.2],
  smoothL1Beta: 0.11,
  bboxLossWeight: 0.75,
  ignoreIofThr: 0.5,
};

/**
 * FreeAnchor (Zhang et al., "FreeAnchor: Learning to Match Anchors for Visual Object Detection",
 * NeurIPS 2019): RetinaNet's network and anchors, trained with the learning-to-match bag losses
 * instead of a fixed IoU assignment. HPF focuses the negative bag loss per level.
 */
export class FreeAnchorDetector extends DenseDetector<FreeAnchorConfig> {
  readonly coder: DeltaXYWHCoder;

  constructor(options: FreeAnchorOptions) {
    const where = 'createFreeAnchor';
    const d = FREEANCHOR_DEFAULTS;
    const base = resolveDetectorOptions(where, options, d, ['octaveBaseScale', 'preAnchorTopk', 'bboxThr']);
    const octaveBaseScale = options.octaveBaseScale ?? d.octaveBaseScale;
    if (!(typeof octaveBaseScale === 'number' && octaveBaseScale > 0)) {
      throw new Error(`${where}: option 'octaveBaseScale' must be a number > 0, got ${String(octaveBaseScale)}`);
    }
    const preAnchorTopk = options.preAnchorTopk ?? d.preAnchorTopk;
    if (!Number.isInteger(preAnchorTopk) || preAnchorTopk < 1) {
      throw new Error(`${where}: option 'preAnchorTopk' must be a positive integer, got ${String(preAnchorTopk)}`);
    }
    const bboxThr = options.bboxThr ?? d.bboxThr;
    if (!(typeof bboxThr === 'number' && bboxThr >= 0 && bboxThr < 1)) throw new Error(`${where}: option 'bboxThr' must be a number in [0, 1), got ${String(bboxThr)}`);
    const { backbone: _b, neckChannels: _n, featChannels: _f, stackedConvs: _s, test: _t, focus: _fo, ...fixed } = d;
    const config: FreeAnchorConfig = {
      ...base,
      ...fixed,
      ratios: [...fixed.ratios],
      strides: [...fixed.strides],
      coderStds: [...fixed.coderStds],
      octaveBaseScale,
      preAnchorTopk,
      bboxThr,
    };
    const { model, anchors } = buildRetinaNetwork(base, config);
    super('freeanchor', Object.freeze(config), model, anchors, new ProgressiveFocus(base.hpf));
    this.coder = new DeltaXYWHCoder({ stds: config.coderStds });
  }

  protected loss(out: DenseHeadOutput, priors: PriorTensors, targets: readonly DetectorTarget[]): DetectorLoss {
    const c = this.config;
    return freeAnchorLoss(
      { cls: out.cls, reg: out.reg, anchors: priors.arrays, targets },
      {
        numClasses: c.numClasses,
        preAnchorTopk: c.preAnchorTopk,
        bboxThr: c.bboxThr,
        alpha: c.alpha,
        coder: this.coder,
        smoothL1Beta: c.smoothL1Beta,
        bboxLossWeight: c.bboxLossWeight,
        ignoreIofThr: c.ignoreIofThr,
        focus: this.focus,
      },
    );
  }

  /** Scores sigmoid(cls) per (anchor, class); boxes decoded from each anchor and clipped to the input, after the top-k. */
  protected decode(out: DenseHeadOutput, priors: PriorTensors, imageSize: SizeHW): DeferredLevel[] {
    return decodeRetinaLevels(out, priors, this.coder, this.config.numClasses, imageSize);
  }
}

/** Builds a FreeAnchor detector (see README for the options, defaults and deviations). */
export function createFreeAnchor(options: FreeAnchorOptions): FreeAnchorDetector {
  return new FreeAnchorDetector(options);
}
