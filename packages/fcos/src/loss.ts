import * as tf from '@tensorflow/tfjs-core';
import { binaryCrossEntropyWithLogits, giouLoss, type ProgressiveFocus } from '@hpf/loss';
import { batchTargets, concatLevels, flattenLevels, focalClassificationLoss, type DetectorLoss, type DetectorTarget } from '@hpf/dense';
import { fcosTargets, type FcosAssignerOptions } from './assigner.js';

/** Raw FCOS head outputs per level and the points they belong to. */
export interface FcosLossInput {
  /** [N, H, W, C] logits. */
  cls: readonly tf.Tensor4D[];
  /** [N, H, W, 4] (l, t, r, b) in stride units, after the level's Scale and ReLU. */
  reg: readonly tf.Tensor4D[];
  /** [N, H, W, 1] centerness logits. */
  centerness: readonly tf.Tensor4D[];
  /** Points of each level, flat (x, y), row-major. */
  points: readonly Float32Array[];
  targets: readonly DetectorTarget[];
}

export interface FcosLossOptions extends FcosAssignerOptions {
  focus: ProgressiveFocus;
  /** Published (GIoU, centerness): 1.0, 1.0. */
  bboxLossWeight: number;
  centernessLossWeight: number;
}

/**
 * The FCOS loss (mmdetection FCOSHead.loss with norm_on_bbox, centerness on the regression tower,
 * GIoU; the "FCOS imprv" configuration):
 * - loss_cls: focal loss over all non-ignored points / max(#positives, 1);
 * - loss_bbox: sum over positives of centerness_target * (1 - GIoU) between the boxes the predicted
 *   and target distances span around the point / max(sum of centerness targets, 1e-6);
 * - loss_centerness: BCE over positives / max(#positives, 1).
 * Returned tensors belong to the caller.
 */
export function fcosLoss(input: FcosLossInput, options: FcosLossOptions): DetectorLoss {
  const { numClasses, focus } = options;
  const numPerLevel = input.points.map((p) => p.length / 2);
  const allPoints = concatLevels(input.points);
  const assigned = batchTargets(
    input.targets.map((t) => fcosTargets(allPoints, numPerLevel, t, options)),
    numPerLevel,
    numClasses,
  );
  const { positives, numPositives } = assigned;
  const avgFactor = Math.max(numPositives, 1);

  const clsLogits = flattenLevels(input.cls as tf.Tensor4D[], numClasses);
  const cls = focalClassificationLoss(focus, clsLogits, assigned.labelsByLevel, avgFactor);
  tf.dispose(clsLogits);

  const [lossBbox, lossCenterness] = tf.tidy(() => {
    const pred = tf.concat(flattenLevels(input.reg as tf.Tensor4D[], 4));
    const centerLogits = tf.reshape(tf.concat(flattenLevels(input.centerness as tf.Tensor4D[], 1)), [-1]);
    if (numPositives === 0) return [tf.mul(tf.sum(pred), 0), tf.mul(tf.sum(centerLogits), 0)];
    const index = tf.tensor1d(positives, 'int32');
    const weights = assigned.pick('centerness', 1);
    // IoU is translation invariant: span both boxes around the origin instead of the point.
    const toBox = (ltrb: tf.Tensor2D) => tf.mul(ltrb, tf.tensor1d([-1, -1, 1, 1])) as tf.Tensor2D;
    const giou = giouLoss(toBox(tf.gather(pred, index) as tf.Tensor2D), toBox(tf.tensor2d(assigned.pick('distances', 4), [numPositives, 4])), {
      weights: tf.tensor1d(weights),
      reduction: 'sum',
    });
    const weightSum = weights.reduce((s, v) => s + v, 0);
    const bbox = tf.mul(giou, options.bboxLossWeight / Math.max(weightSum, 1e-6));
    const bce = binaryCrossEntropyWithLogits(tf.gather(centerLogits, index) as tf.Tensor1D, tf.tensor1d(weights), { reduction: 'sum' });
    return [bbox, tf.mul(bce, options.centernessLossWeight / avgFactor)];
  }) as [tf.Scalar, tf.Scalar];

  return {
    losses: { loss_cls: cls.loss, loss_bbox: lossBbox, loss_centerness: lossCenterness },
    total: tf.addN([cls.loss, lossBbox, lossCenterness]) as tf.Scalar,
    stats: { levels: cls.levels, numPositives, avgFactor },
  };
}
