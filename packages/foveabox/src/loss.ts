import * as tf from '@tensorflow/tfjs-core';
import { type ProgressiveFocus, l1BoxLoss } from '@hpf/loss';
import {
  batchTargets,
  concatLevels,
  flattenLevels,
  focalClassificationLoss,
  type DetectorLoss,
  type DetectorTarget,
  type SizeHW,
} from '@hpf/dense';
import { foveaTargets, type FoveaAssignerOptions } from './assigner.js';

/** Raw FoveaBox head outputs per level and the points they belong to. */
export interface FoveaLossInput {
  /** [N, H, W, C] logits. */
  cls: readonly tf.Tensor4D[];
  /** [N, H, W, 4] log-space box predictions. */
  reg: readonly tf.Tensor4D[];
  /** Points (x, y) of each level, row-major (cell centres). */
  points: readonly Float32Array[];
  targets: readonly DetectorTarget[];
}

export interface FoveaLossOptions extends FoveaAssignerOptions {
  /** Classification loss driver: HPF or the static focal loss (mode 'off'). */
  focus: ProgressiveFocus;
  /** Published: 1.0. */
  bboxLossWeight: number;
  /** Smooth-L1 beta, published 0.11. */
  smoothL1Beta: number;
}

/**
 * The FoveaBox loss (mmdetection FoveaHead.loss):
 * - loss_cls: focal loss (gamma 1.5, alpha 0.4) over all non-ignored points / (#positives + #images);
 * - loss_bbox: smooth-L1 (beta 0.11) between the predicted and target log-space distances of the
 *   positives, summed over the 4 sides / max(#positives, 1).
 * Assignment runs once, on plain arrays. Returned tensors belong to the caller.
 */
export function foveaLoss(input: FoveaLossInput, options: FoveaLossOptions): DetectorLoss {
  const { numClasses, focus } = options;
  const batch = input.cls[0]!.shape[0];
  const featureSizes = input.cls.map((t) => [t.shape[1], t.shape[2]] as SizeHW);
  const numPerLevel = input.points.map((a) => a.length / 2);
  const allPoints = concatLevels(input.points);
  const { labelsByLevel, positives, numPositives, pick } = batchTargets(
    input.targets.map((t) => foveaTargets(allPoints, featureSizes, t, options)),
    numPerLevel,
    numClasses,
  );

  const clsLogits = flattenLevels(input.cls as tf.Tensor4D[], numClasses);
  const cls = focalClassificationLoss(focus, clsLogits, labelsByLevel, numPositives + batch);
  tf.dispose(clsLogits);

  const lossBbox = tf.tidy(() => {
    const deltas = tf.concat(flattenLevels(input.reg as tf.Tensor4D[], 4));
    if (numPositives === 0) return tf.mul(tf.sum(deltas), 0) as tf.Scalar;
    const pred = tf.gather(deltas, tf.tensor1d(positives, 'int32')) as tf.Tensor2D;
    const target = tf.tensor2d(pick('boxTargets', 4), [numPositives, 4]);
    return tf.mul(l1BoxLoss(pred, target, numPositives, options.smoothL1Beta), options.bboxLossWeight) as tf.Scalar;
  });

  const losses = { loss_cls: cls.loss, loss_bbox: lossBbox };
  return {
    losses,
    total: tf.add(cls.loss, lossBbox) as tf.Scalar,
    stats: { levels: cls.levels, numPositives, avgFactor: numPositives + batch },
  };
}
