import * as tf from '@tensorflow/tfjs-core';
import type { ProgressiveFocus } from '@hpf/loss';
import type { SizeHW } from '../boxes/check-options.js';
import { PriorCache, type PriorTensors } from '../priors/prior-cache.js';
import type { PriorGenerator } from '../priors/prior-generator.js';
import type { Detection, PostprocessOptions } from '../postprocess/select-detections.js';
import type { Module } from '@hpf/nn';
import type { DenseDetectorModel } from './dense-head.js';
import type { BoxDecoder } from '../postprocess/deferred-decode.js';
import { finishDetections, type PredictLevel } from '../postprocess/predict.js';
import { checkTargets } from '../targets/targets.js';
import type { Detector, DetectorImageMeta, DetectorLoss, DetectorState, DetectorTarget } from './types.js';

/** One level's decoded predictions for the batch: scores [N, n_l, C] (probabilities), boxes [N, n_l, 4]. */
export interface DecodedLevel {
  scores: tf.Tensor3D;
  boxes: tf.Tensor3D;
}

/**
 * One level whose boxes are decoded on the CPU for the priors that survive the per-level top-k
 * only, as torchvision and mmdetection decode after top-k: scores [N, n_l, C] (probabilities) and
 * the per-prior regression [N, n_l, 4] that `decodeBox` reads after one read-back per level.
 */
export interface DeferredLevel {
  scores: tf.Tensor3D;
  regression: tf.Tensor3D;
  decodeBox: BoxDecoder;
}

/** The part of every head's output the base reads: per-level class logits [N, H, W, A * C]. */
export interface HeadLevels {
  cls: tf.Tensor4D[];
}

/** What a detector's model returns from `forward` (its head's output). */
export type ModelOutputOf<Model extends Module<tf.Tensor4D, unknown>> = ReturnType<Model['forward']>;

/**
 * What the dense adapters share around their own parts: the model, a prior cache keyed by the
 * feature sizes the head produced, target validation, the train/eval switch of `predict` and the
 * post-processing. An adapter supplies `loss` (assignment + its loss terms) and `decode` (scores
 * and boxes per level); see e.g. @hpf/atss.
 */
export abstract class DenseDetector<
  Config extends { numClasses: number; test: Required<PostprocessOptions> },
  // Any network whose forward gives per-level head outputs with at least the class logits (their
  // feature sizes key the prior cache): DenseDetectorModel<DenseHead>, or with an adapter's head.
  Model extends Module<tf.Tensor4D, HeadLevels> = DenseDetectorModel,
> implements Detector<Config> {
  protected readonly priorCache: PriorCache;

  constructor(
    readonly name: string,
    readonly config: Readonly<Config>,
    readonly model: Model,
    readonly priorGenerator: PriorGenerator,
    /** The classification-loss driver (records per-level stats in its `history`). */
    readonly focus: ProgressiveFocus,
  ) {
    this.priorCache = new PriorCache(priorGenerator);
  }

  /** Assignment and loss terms from the raw head outputs (training mode). */
  protected abstract loss(out: ModelOutputOf<Model>, priors: PriorTensors, targets: readonly DetectorTarget[], imageSize: SizeHW): DetectorLoss;

  /**
   * Per-level scores and boxes in input pixels (eval mode; called inside a tidy): decoded boxes
   * for every prior, or a {@link DeferredLevel} whose boxes are decoded after the top-k.
   */
  protected abstract decode(out: ModelOutputOf<Model>, priors: PriorTensors, imageSize: SizeHW): Array<DecodedLevel | DeferredLevel>;

  /** Priors for the feature sizes of `out` (owned by the cache: do not dispose). */
  protected priorsFor(out: HeadLevels): PriorTensors {
    return this.priorCache.get(out.cls.map((t) => [t.shape[1], t.shape[2]] as const));
  }

  /**
   * The priors of `out`, fetched from the cache when `decode` first reads them: a head that predicts
   * its boxes directly (TOOD) reads none, and then predict creates and keeps no prior tensors.
   */
  private lazyPriors(out: HeadLevels): PriorTensors {
    let priors: PriorTensors | undefined;
    const get = (): PriorTensors => (priors ??= this.priorsFor(out));
    return {
      get levels() {
        return get().levels;
      },
      get all() {
        return get().all;
      },
      get numPerLevel() {
        return get().numPerLevel;
      },
      get arrays() {
        return get().arrays;
      },
    };
  }

  computeLoss(images: tf.Tensor4D, targets: readonly DetectorTarget[]): DetectorLoss {
    const where = `${this.name}.computeLoss`;
    checkImages(where, images);
    checkTargets(where, targets, images.shape[0], this.config.numClasses);
    const out = this.model.forward(images) as ModelOutputOf<Model>;
    try {
      return this.loss(out, this.priorsFor(out), targets, [images.shape[1], images.shape[2]]);
    } finally {
      // every tensor the head returned, whatever its fields
      tf.dispose(out as unknown as tf.TensorContainer);
    }
  }

  async predict(images: tf.Tensor4D, metas?: readonly DetectorImageMeta[]): Promise<Detection[][]> {
    checkImages(`${this.name}.predict`, images);
    const wasTraining = this.model.training;
    this.model.eval();
    let levels: PredictLevel[] = [];
    try {
      // tidy keeps only the tensors it returns, so the levels (with their decoders) are collected
      // beside it.
      tf.tidy(() => {
        const out = this.model.forward(images) as ModelOutputOf<Model>;
        levels = this.decode(out, this.lazyPriors(out), [images.shape[1], images.shape[2]]);
        return levels.flatMap((d) => ('boxes' in d ? [d.scores, d.boxes] : [d.scores, d.regression]));
      });
    } finally {
      this.model.train(wasTraining);
    }
    try {
      return await finishDetections(levels, metas, this.config.test);
    } finally {
      tf.dispose(levels.flatMap((d) => ('boxes' in d ? [d.scores, d.boxes] : [d.scores, d.regression])));
    }
  }

  trainableVariables(): tf.Variable[] {
    return this.model.trainableVariables();
  }

  state(): DetectorState {
    return { focus: this.focus.state() };
  }

  loadState(state: DetectorState): void {
    if (state.focus !== null) this.focus.loadState(state.focus);
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
