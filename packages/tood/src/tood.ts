import * as tf from '@tensorflow/tfjs-core';
import { ProgressiveFocus } from '@hpf/loss';
import {
  buildDenseModel,
  createAnchorGenerator,
  DenseDetector,
  resolveDetectorOptions,
  type DecodedLevel,
  type DenseDefaults,
  type DenseDetectorModel,
  type DenseDetectorOptions,
  type DetectorLoss,
  type DetectorTarget,
  type PriorTensors,
  type ResolvedDenseOptions,
  type SizeHW,
} from '@hpf/dense';
import { ToodHead, type ToodHeadOutput } from './head.js';
import { toodLoss } from './loss.js';

export interface ToodOptions extends DenseDetectorOptions {
  /** Anchor side = octaveBaseScale * stride (anchors drive ATSS and give the grid). Default 8. */
  octaveBaseScale?: number;
  /** Length of the training schedule in epochs (published 12); scales the warm-up. */
  epochs?: number;
  /** Epochs of ATSS warm-up; default round(4 * epochs / 12) (published 4 of 12). */
  initialEpoch?: number;
  /** Task-aligned candidates per gt. Default 13. */
  topk?: number;
}

export interface ToodConfig extends ResolvedDenseOptions {
  octaveBaseScale: number;
  strides: number[];
  epochs: number;
  initialEpoch: number;
  atssTopk: number;
  topk: number;
  /** Exponents of the alignment metric s^alpha u^beta. */
  talAlpha: number;
  talBeta: number;
  bboxLossWeight: number;
}

type ToodFixed = Omit<ToodConfig, keyof ResolvedDenseOptions | 'initialEpoch'>;

/** Published TOOD (mmdetection tood_r50_fpn_1x) values, except the documented CPU-size network. */
export const TOOD_DEFAULTS: DenseDefaults & ToodFixed = {
  backbone: 'resnet18-mini',
  neckChannels: 64,
  featChannels: 64,
  stackedConvs: 6,
  test: { scoreThreshold: 0.05, nmsPre: 1000, iouThreshold: 0.6, maxPerImage: 100 },
  // beta0 of the quality focal loss is 2 (gamma 2 of the warm-up focal loss, alpha 0.25)
  focus: { gamma: 2, alpha: 0.25 },
  octaveBaseScale: 8,
  strides: [8, 16, 32, 64, 128],
  epochs: 12,
  atssTopk: 9,
  topk: 13,
  talAlpha: 1,
  talBeta: 6,
  bboxLossWeight: 2,
};

/**
 * TOOD (Feng et al., "TOOD: Task-aligned One-stage Object Detection", ICCV 2021): T-head and task
 * alignment learning after an ATSS warm-up. Training progress comes from `setEpoch(epoch)` (0-based;
 * @hpf/engine's `fit` calls it before every iteration): epochs below `initialEpoch` use the warm-up.
 */
export class ToodDetector extends DenseDetector<ToodConfig, DenseDetectorModel<ToodHead>> {
  private currentEpoch = 0;

  constructor(options: ToodOptions) {
    const where = 'createTood';
    const d = TOOD_DEFAULTS;
    const base = resolveDetectorOptions(where, options, d, ['octaveBaseScale', 'epochs', 'initialEpoch', 'topk']);
    const positiveInt = (name: 'epochs' | 'topk', value: number) => {
      if (!Number.isInteger(value) || value < 1) throw new Error(`${where}: option '${name}' must be a positive integer, got ${String(value)}`);
      return value;
    };
    // the T-head concatenates its interactive convs: it needs at least one
    if (base.stackedConvs < 1) throw new Error(`${where}: option 'stackedConvs' must be >= 1 for the T-head, got ${base.stackedConvs}`);
    const epochs = positiveInt('epochs', options.epochs ?? d.epochs);
    const topk = positiveInt('topk', options.topk ?? d.topk);
    const initialEpoch = options.initialEpoch ?? Math.round((4 * epochs) / 12);
    if (!Number.isInteger(initialEpoch) || initialEpoch < 0) throw new Error(`${where}: option 'initialEpoch' must be a non-negative integer, got ${String(initialEpoch)}`);
    const octaveBaseScale = options.octaveBaseScale ?? d.octaveBaseScale;
    if (!(typeof octaveBaseScale === 'number' && octaveBaseScale > 0)) {
      throw new Error(`${where}: option 'octaveBaseScale' must be a number > 0, got ${String(octaveBaseScale)}`);
    }
    const { backbone: _b, neckChannels: _n, featChannels: _f, stackedConvs: _s, test: _t, focus: _fo, ...fixed } = d;
    const config: ToodConfig = { ...base, ...fixed, strides: [...fixed.strides], epochs, initialEpoch, topk, octaveBaseScale };
    // FPN P3-P7 with extra convs on the output, and the T-head (boxes in pixels via the level strides).
    const model = buildDenseModel(base, { extraConvs: 'on_output', reluBeforeExtraConvs: false, head: (context) => new ToodHead({ ...context, strides: config.strides }) });
    const anchors = createAnchorGenerator({ strides: config.strides, ratios: [1], octaveBaseScale, scalesPerOctave: 1 });
    super('tood', Object.freeze(config), model, anchors, new ProgressiveFocus(base.hpf));
  }

  /** Sets the 0-based training epoch: below `config.initialEpoch` the ATSS warm-up is used. */
  setEpoch(epoch: number): void {
    if (!Number.isInteger(epoch) || epoch < 0) throw new Error(`tood.setEpoch: epoch must be a non-negative integer, got ${String(epoch)}`);
    this.currentEpoch = epoch;
  }

  get epoch(): number {
    return this.currentEpoch;
  }

  /** 'atss' during the warm-up, 'tal' after. */
  get phase(): 'atss' | 'tal' {
    return this.currentEpoch < this.config.initialEpoch ? 'atss' : 'tal';
  }

  protected loss(out: ToodHeadOutput, priors: PriorTensors, targets: readonly DetectorTarget[]): DetectorLoss {
    const c = this.config;
    return toodLoss(
      { cls: out.cls, boxes: out.boxes, anchors: priors.arrays, targets },
      { numClasses: c.numClasses, phase: this.phase, atssTopk: c.atssTopk, talTopk: c.topk, talAlpha: c.talAlpha, talBeta: c.talBeta, focus: this.focus, bboxLossWeight: c.bboxLossWeight },
    );
  }

  /** Scores: the aligned score sqrt(sigmoid(cls) * sigmoid(M)); boxes: the aligned boxes, corners ordered, clipped to the input. */
  protected decode(out: ToodHeadOutput, _priors: PriorTensors, imageSize: SizeHW): DecodedLevel[] {
    const [height, width] = imageSize;
    return out.cls.map((cls, l) => {
      const [n, h, w, c] = cls.shape;
      const scores = tf.sigmoid(tf.reshape(cls, [n, h * w, c])) as tf.Tensor3D;
      // Each side is sampled at its own offset, so a box can come out inverted; its corners are
      // reordered (min, max) before clipping so every detection is a valid box.
      const [ax, ay, bx, by] = tf.unstack(tf.reshape(out.boxes[l]!, [n, h * w, 4]), 2);
      const clip = (v: tf.Tensor, hi: number) => tf.clipByValue(v, 0, hi);
      const boxes = tf.stack(
        [clip(tf.minimum(ax!, bx!), width), clip(tf.minimum(ay!, by!), height), clip(tf.maximum(ax!, bx!), width), clip(tf.maximum(ay!, by!), height)],
        2,
      ) as tf.Tensor3D;
      return { scores, boxes };
    });
  }
}

/** Builds a TOOD detector (see README for the options, defaults, deviations and `setEpoch`). */
export function createTood(options: ToodOptions): ToodDetector {
  return new ToodDetector(options);
}
