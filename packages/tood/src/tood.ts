import * as tf from '@tensorflow/tfjs-core';
import { ProgressiveFocus } from '@hpf/loss';
import {
  checkTargets,
  createAnchorGenerator,
  createBackbone,
  createRng,
  finishDetections,
  Fpn,
  Module,
  PriorCache,
  resolveDetectorOptions,
  type BackboneFeatures,
  type BackboneOptions,
  type Detection,
  type DenseDefaults,
  type DenseDetectorOptions,
  type Detector,
  type DetectorImageMeta,
  type DetectorLoss,
  type DetectorTarget,
  type PriorTensors,
  type ResNet,
  type ResolvedDenseOptions,
} from '@hpf/fpn';
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

/** backbone -> FPN (extra convs on output) -> T-head. */
export class ToodModel extends Module<tf.Tensor4D, ToodHeadOutput> {
  readonly backbone: ResNet;
  readonly neck: Fpn;
  readonly head: ToodHead;

  constructor(options: ResolvedDenseOptions, strides: readonly number[]) {
    super();
    const rng = createRng(options.seed);
    const backboneOptions: BackboneOptions = typeof options.backbone === 'string' ? { preset: options.backbone } : { ...options.backbone };
    delete backboneOptions.seed;
    this.backbone = this.registerModule('backbone', createBackbone({ ...backboneOptions, rng }));
    this.neck = this.registerModule(
      'neck',
      new Fpn({ inChannels: [...this.backbone.outChannels], outChannels: options.neckChannels, extraConvs: 'on_output', reluBeforeExtraConvs: false, rng }),
    );
    this.head = this.registerModule(
      'bbox_head',
      new ToodHead({
        inChannels: options.neckChannels,
        featChannels: options.featChannels,
        stackedConvs: options.stackedConvs,
        numClasses: options.numClasses,
        numLevels: this.neck.levels.length,
        strides,
        rng,
      }),
    );
  }

  forward(images: tf.Tensor4D): ToodHeadOutput {
    const features: BackboneFeatures = this.backbone.forward(images);
    const pyramid = this.neck.forward(features);
    tf.dispose(features);
    const out = this.head.forward(pyramid);
    tf.dispose(pyramid);
    return out;
  }
}

/**
 * TOOD (Feng et al., "TOOD: Task-aligned One-stage Object Detection", ICCV 2021): T-head and task
 * alignment learning after an ATSS warm-up. Training progress comes from `setEpoch(epoch)` (0-based;
 * the CLI calls it at the start of every epoch): epochs below `initialEpoch` use the warm-up.
 */
export class ToodDetector implements Detector<ToodConfig> {
  readonly name = 'tood';
  readonly config: Readonly<ToodConfig>;
  readonly model: ToodModel;
  /** Classification-loss driver (focal in the warm-up, quality focal after); its `history` has the per-level stats. */
  readonly focus: ProgressiveFocus;
  private readonly priorCache: PriorCache;
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
    this.config = Object.freeze({ ...base, ...fixed, strides: [...fixed.strides], epochs, initialEpoch, topk, octaveBaseScale });
    this.model = new ToodModel(base, this.config.strides);
    this.focus = new ProgressiveFocus(base.hpf);
    this.priorCache = new PriorCache(createAnchorGenerator({ strides: this.config.strides, ratios: [1], octaveBaseScale, scalesPerOctave: 1 }));
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

  private priorsFor(out: ToodHeadOutput): PriorTensors {
    return this.priorCache.get(out.cls.map((t) => [t.shape[1], t.shape[2]] as const));
  }

  computeLoss(images: tf.Tensor4D, targets: readonly DetectorTarget[]): DetectorLoss {
    checkImages('tood.computeLoss', images);
    checkTargets('tood.computeLoss', targets, images.shape[0], this.config.numClasses);
    const out = this.model.forward(images);
    try {
      const c = this.config;
      return toodLoss(
        { cls: out.cls, boxes: out.boxes, anchors: this.priorsFor(out).arrays, targets },
        { numClasses: c.numClasses, phase: this.phase, atssTopk: c.atssTopk, talTopk: c.topk, talAlpha: c.talAlpha, talBeta: c.talBeta, focus: this.focus, bboxLossWeight: c.bboxLossWeight },
      );
    } finally {
      tf.dispose([...out.cls, ...out.boxes]);
    }
  }

  /** Scores: the aligned score sqrt(sigmoid(cls) * sigmoid(M)); boxes: the aligned boxes, corners ordered, clipped to the input. */
  async predict(images: tf.Tensor4D, metas?: readonly DetectorImageMeta[]): Promise<Detection[][]> {
    checkImages('tood.predict', images);
    const wasTraining = this.model.training;
    this.model.eval();
    const [, height, width] = images.shape;
    let levels: Array<{ scores: tf.Tensor3D; boxes: tf.Tensor3D }>;
    try {
      levels = tf.tidy(() => {
        const out = this.model.forward(images);
        return out.cls.map((cls, l) => {
          const [n, h, w, c] = cls.shape;
          const scores = tf.sigmoid(tf.reshape(cls, [n, h * w, c]));
          // Each side is sampled at its own offset, so a box can come out inverted; its corners are
          // reordered (min, max) before clipping so every detection is a valid box.
          const [ax, ay, bx, by] = tf.unstack(tf.reshape(out.boxes[l]!, [n, h * w, 4]), 2);
          const clip = (v: tf.Tensor, hi: number) => tf.clipByValue(v, 0, hi);
          const boxes = tf.stack(
            [clip(tf.minimum(ax!, bx!), width), clip(tf.minimum(ay!, by!), height), clip(tf.maximum(ax!, bx!), width), clip(tf.maximum(ay!, by!), height)],
            2,
          );
          return [scores, boxes];
        });
      }).map(([scores, boxes]) => ({ scores: scores as tf.Tensor3D, boxes: boxes as tf.Tensor3D }));
    } finally {
      this.model.train(wasTraining);
    }
    try {
      return await finishDetections(levels, metas, this.config.test);
    } finally {
      tf.dispose(levels.flatMap((d) => [d.scores, d.boxes]));
    }
  }

  trainableVariables(): tf.Variable[] {
    return this.model.trainableVariables();
  }

  dispose(): void {
    this.priorCache.dispose();
    this.model.dispose();
  }
}

function checkImages(where: string, images: tf.Tensor4D): void {
  if (images.rank !== 4 || images.shape[3] !== 3 || images.dtype !== 'float32') {
    throw new Error(`${where}: images must be a float32 tensor [N, H, W, 3], got ${images.dtype} [${images.shape.join(', ')}]`);
  }
}

/** Builds a TOOD detector (see README for the options, defaults, deviations and `setEpoch`). */
export function createTood(options: ToodOptions): ToodDetector {
  return new ToodDetector(options);
}
