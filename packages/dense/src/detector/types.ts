import type * as tf from '@tensorflow/tfjs-core';
import type { FocusState, LevelStats } from '@hpf/loss';
import type { Module } from '@hpf/nn';
import type { Detection } from '../postprocess/select-detections.js';

/**
 * One image's ground truth in input (letterboxed) pixels: the one definition, which @hpf/data's
 * batches produce (it re-exports this type as `DetectionTarget`).
 */
export interface DetectorTarget {
  /** `[x1, y1, x2, y2]` per box, flat: length 4G. */
  boxes: Float32Array;
  /** Contiguous class in [0, numClasses) per box: length G. */
  labels: Int32Array;
  /** Crowd regions `[x1, y1, x2, y2]`, flat: priors mostly inside them are ignored. */
  ignoreBoxes: Float32Array;
}

/**
 * How a batch image relates to its source image, the fields that map boxes back (`boxesToOriginal`):
 * input = original * scale + offset, after the flip. @hpf/data's `ImageMeta` extends it with the
 * image's id and file name.
 */
export interface DetectorImageMeta {
  originalSize: { width: number; height: number };
  scale: readonly [number, number];
  offset: readonly [number, number];
  flipped: boolean;
}

/** What `computeLoss` reports besides the loss tensors: plain numbers, safe to keep. */
export interface DetectorStats {
  /** Per pyramid level: positives, statistic, gamma, alpha of the classification loss (HPF). */
  levels: LevelStats[];
  /** Positive priors in the batch (all levels, all images). */
  numPositives: number;
  /** The classification normaliser that was used (max(numPositives, 1) for the adapters here). */
  avgFactor: number;
}

export interface DetectorLoss {
  /** Named loss terms (e.g. loss_cls, loss_bbox, loss_centerness), each a scalar the caller owns. */
  losses: Record<string, tf.Scalar>;
  /** Sum of the terms, a new scalar the caller owns. */
  total: tf.Scalar;
  stats: DetectorStats;
}

/** What a detector carries between training iterations besides its variables: plain JSON, for checkpoints. */
export interface DetectorState {
  /** HPF's state (`ProgressiveFocus.state()`: EMA, step counter, per-level history), or null for a detector without one. */
  focus: FocusState | null;
}

/**
 * The contract every adapter's factory returns, so a trainer or the CLI can treat all detectors
 * alike. `computeLoss` is a pure function of its inputs and the variables (plus BatchNorm running
 * stats), so it can run inside `tf.variableGrads(() => det.computeLoss(...).total)` or
 * `optimizer.minimize`.
 */
export interface Detector<Config = unknown> {
  /** e.g. 'atss', 'retinanet'. */
  readonly name: string;
  /** Every option with its resolved value (defaults filled in). */
  readonly config: Readonly<Config>;
  /** backbone + neck + head; owns every variable. */
  readonly model: Module<tf.Tensor4D, unknown>;
  /**
   * images [N, H, W, 3] float32 and one target per image -> the training loss. Target assignment
   * runs once per call on plain arrays (no gradient).
   */
  computeLoss(images: tf.Tensor4D, targets: readonly DetectorTarget[]): DetectorLoss;
  /**
   * Detections per image, best first. Boxes are in input pixels, or in the original image's pixels
   * when `metas` (one per image) are given. Runs the model in eval mode; no tensor escapes.
   */
  predict(images: tf.Tensor4D, metas?: readonly DetectorImageMeta[]): Promise<Detection[][]>;
  /** The variables an optimizer should update. */
  trainableVariables(): tf.Variable[];
  /** The training state besides the variables (see DetectorState): a copy, safe to keep or serialise. */
  state(): DetectorState;
  /**
   * Continues from `state()` of a detector built with the same options (validated: a mismatch is an
   * error naming the field). A null `focus` leaves the detector's own.
   */
  loadState(state: DetectorState): void;
  /**
   * Training progress, for detectors whose training changes with it (TOOD's ATSS warm-up): the
   * trainer calls it with the 0-based epoch before every iteration. The others do not define it.
   */
  setEpoch?(epoch: number): void;
  /** Releases the model's variables and cached priors. */
  dispose(): void;
}
