import * as tf from '@tensorflow/tfjs-core';
import { binaryCrossEntropyWithLogits, giouLoss, type ProgressiveFocus } from '@hpf/loss';
import {
  batchTargets,
  concatLevels,
  flattenLevels,
  focalClassificationLoss,
  type DeltaXYWHCoder,
  type DetectorLoss,
  type DetectorTarget,
} from '@hpf/dense';
import { atssTargets } from './assigner.js';

/** Raw ATSS head outputs per level and the anchors they belong to. */
export interface AtssLossInput {
  /** [N, H, W, A * C] logits. */
  cls: readonly tf.Tensor4D[];
  /** [N, H, W, A * 4] encoded deltas (after the level's Scale). */
  reg: readonly tf.Tensor4D[];
  /** [N, H, W, A] centerness logits. */
  centerness: readonly tf.Tensor4D[];
  /** Anchors of each level, flat x1, y1, x2, y2 in (y, x, anchor) order. */
  anchors: readonly Float32Array[];
  targets: readonly DetectorTarget[];
}

export interface AtssLossOptions {
  numClasses: number;
  topk: number;
  coder: DeltaXYWHCoder;
  /** Classification loss driver: HPF or the static focal loss (mode 'off'). */
  focus: ProgressiveFocus;
  /** Published: 2.0 (GIoU), 1.0 (centerness). */
  bboxLossWeight: number;
  centernessLossWeight: number;
}

/**
 * The ATSS loss (mmdetection ATSSHead.loss):
 * - loss_cls: focal loss over all non-ignored priors / max(#positives, 1);
 * - loss_bbox: weight * sum over positives of centerness_target * (1 - GIoU(decoded pred, gt))
 *   / max(sum of centerness targets, 1);
 * - loss_centerness: sum over positives of BCE(centerness logit, centerness target) / max(#positives, 1).
 * Assignment runs once, on plain arrays. Returned tensors belong to the caller.
 */
export function atssLoss(input: AtssLossInput, options: AtssLossOptions): DetectorLoss {
  const { numClasses, coder, focus } = options;
  const numPerLevel = input.anchors.map((a) => a.length / 4);
  const allAnchors = concatLevels(input.anchors);
  const assigned = batchTargets(
    input.targets.map((t) => atssTargets(allAnchors, numPerLevel, t, options)),
    numPerLevel,
    numClasses,
  );
  const { positives, numPositives } = assigned;
  const avgFactor = Math.max(numPositives, 1);

  const clsLogits = flattenLevels(input.cls as tf.Tensor4D[], numClasses);
  const cls = focalClassificationLoss(focus, clsLogits, assigned.labelsByLevel, avgFactor);
  tf.dispose(clsLogits);

  const [lossBbox, lossCenterness] = tf.tidy(() => {
    const deltas = tf.concat(flattenLevels(input.reg as tf.Tensor4D[], 4));
    const centerLogits = tf.reshape(tf.concat(flattenLevels(input.centerness as tf.Tensor4D[], 1)), [-1]);
    if (numPositives === 0) return [tf.mul(tf.sum(deltas), 0), tf.mul(tf.sum(centerLogits), 0)];
    const index = tf.tensor1d(positives, 'int32');
    const weights = assigned.pick('centerness', 1);
    const weightSum = weights.reduce((s, v) => s + v, 0);
    const posAnchors = tf.tensor2d(assigned.pickPriors(input.anchors, 4), [numPositives, 4]);
    const posBoxes = coder.decode(posAnchors, tf.gather(deltas, index)) as tf.Tensor2D;
    const giou = giouLoss(posBoxes, tf.tensor2d(assigned.pick('boxTargets', 4), [numPositives, 4]), {
      weights: tf.tensor1d(weights),
      reduction: 'sum',
    });
    const bbox = tf.mul(giou, options.bboxLossWeight / Math.max(weightSum, 1));
    const bce = binaryCrossEntropyWithLogits(tf.gather(centerLogits, index) as tf.Tensor1D, tf.tensor1d(weights), { reduction: 'sum' });
    return [bbox, tf.mul(bce, options.centernessLossWeight / avgFactor)];
  }) as [tf.Scalar, tf.Scalar];

  const losses = { loss_cls: cls.loss, loss_bbox: lossBbox, loss_centerness: lossCenterness };
  return {
    losses,
    total: tf.addN([cls.loss, lossBbox, lossCenterness]) as tf.Scalar,
    stats: { levels: cls.levels, numPositives, avgFactor },
  };
}
