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
import { retinaLoss } from './loss.js';

export interface RetinaNetOptions extends DenseDetectorOptions {
  /** Anchor base side = octaveBaseScale * stride; scales octaveBaseScale * 2^(i / 3). Default 4. */
  octaveBaseScale?: number;
  /** 'l1' (mmdetection, default) or 'smooth-l1' (Detectron, beta 0.11). */
  boxLoss?: 'l1' | 'smooth-l1';
  /** Low-quality match rule: 'mmdet' (default) or 'torchvision' (see README). */
  lowQualityStyle?: 'mmdet' | 'torchvision';
}

export interface RetinaNetConfig extends ResolvedDenseOptions {
  octaveBaseScale: number;
  scalesPerOctave: number;
  ratios: number[];
  strides: number[];
  posIouThr: number;
  negIouThr: number;
  lowQualityStyle: 'mmdet' | 'torchvision';
  ignoreIofThr: number;
  boxLoss: 'l1' | 'smooth-l1';
  smoothL1Beta: number;
  bboxLossWeight: number;
}

type RetinaFixed = Omit<RetinaNetConfig, keyof ResolvedDenseOptions>;

/** Published RetinaNet (mmdetection retinanet_r50_fpn_1x) values, except the documented CPU-size network. */
export const RETINANET_DEFAULTS: DenseDefaults & RetinaFixed = {
  backbone: 'resnet18-mini',
  neckChannels: 64,
  featChannels: 64,
  stackedConvs: 4,
  test: { scoreThreshold: 0.05, nmsPre: 1000, iouThreshold: 0.5, maxPerImage: 100 },
  focus: { gamma: 2, alpha: 0.25 },
  octaveBaseScale: 4,
  scalesPerOctave: 3,
  ratios: [0.5, 1, 2],
  strides: [8, 16, 32, 64, 128],
  posIouThr: 0.5,
  negIouThr: 0.4,
  lowQualityStyle: 'mmdet',
  ignoreIofThr: 0.5,
  boxLoss: 'l1',
  smoothL1Beta: 0.11,
  bboxLossWeight: 1,
};

/**
 * RetinaNet (Lin et al., ICCV 2017): 9 anchors per location, max-IoU assignment, delta-xywh
 * regression with an L1 loss, focal loss (or HPF), no normalisation in the head.
 */
export class RetinaNetDetector extends DenseDetector<RetinaNetConfig> {
  readonly coder: DeltaXYWHCoder;

  constructor(options: RetinaNetOptions) {
    const where = 'createRetinaNet';
    const base = resolveDetectorOptions(where, options, RETINANET_DEFAULTS, ['octaveBaseScale', 'boxLoss', 'lowQualityStyle']);
    const octaveBaseScale = options.octaveBaseScale ?? RETINANET_DEFAULTS.octaveBaseScale;
    if (!(typeof octaveBaseScale === 'number' && octaveBaseScale > 0)) {
      throw new Error(`${where}: option 'octaveBaseScale' must be a number > 0, got ${String(octaveBaseScale)}`);
    }
    const boxLoss = options.boxLoss ?? RETINANET_DEFAULTS.boxLoss;
    if (boxLoss !== 'l1' && boxLoss !== 'smooth-l1') throw new Error(`${where}: option 'boxLoss' must be 'l1' or 'smooth-l1', got ${String(boxLoss)}`);
    const lowQualityStyle = options.lowQualityStyle ?? RETINANET_DEFAULTS.lowQualityStyle;
    if (lowQualityStyle !== 'mmdet' && lowQualityStyle !== 'torchvision') {
      throw new Error(`${where}: option 'lowQualityStyle' must be 'mmdet' or 'torchvision', got ${String(lowQualityStyle)}`);
    }
    const { backbone: _b, neckChannels: _n, featChannels: _f, stackedConvs: _s, test: _t, focus: _fo, ...fixed } = RETINANET_DEFAULTS;
    const config: RetinaNetConfig = {
      ...base,
      ...fixed,
      ratios: [...fixed.ratios],
      strides: [...fixed.strides],
      octaveBaseScale,
      boxLoss,
      lowQualityStyle,
    };
    const { model, anchors } = buildRetinaNetwork(base, config);
    super('retinanet', Object.freeze(config), model, anchors, new ProgressiveFocus(base.hpf));
    this.coder = new DeltaXYWHCoder();
  }

  protected loss(out: DenseHeadOutput, priors: PriorTensors, targets: readonly DetectorTarget[]): DetectorLoss {
    const c = this.config;
    return retinaLoss(
      { cls: out.cls, reg: out.reg, anchors: priors.arrays, targets },
      {
        numClasses: c.numClasses,
        posIouThr: c.posIouThr,
        negIouThr: c.negIouThr,
        lowQualityStyle: c.lowQualityStyle,
        ignoreIofThr: c.ignoreIofThr,
        coder: this.coder,
        focus: this.focus,
        smoothL1Beta: c.boxLoss === 'l1' ? 0 : c.smoothL1Beta,
        bboxLossWeight: c.bboxLossWeight,
      },
    );
  }

  /** Scores sigmoid(cls) per (anchor, class); boxes decoded from each anchor and clipped to the input, after the top-k. */
  protected decode(out: DenseHeadOutput, priors: PriorTensors, imageSize: SizeHW): DeferredLevel[] {
    return decodeRetinaLevels(out, priors, this.coder, this.config.numClasses, imageSize);
  }
}

/** Builds a RetinaNet detector (see README for the options, defaults and deviations). */
export function createRetinaNet(options: RetinaNetOptions): RetinaNetDetector {
  return new RetinaNetDetector(options);
}
