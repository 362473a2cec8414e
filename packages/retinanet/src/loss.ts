import * as tf from '@tensorflow/tfjs-core';
import { type ProgressiveFocus, l1BoxLoss } from '@hpf/loss';
import {
  batchTargets,
  concatLevels,
  flattenLevels,
  focalClassificationLoss,
  type DeltaXYWHCoder,
  type DetectorLoss,
  type DetectorTarget,
} from '@hpf/dense';
import { retinaTargets, type RetinaAssignerOptions } from './assigner.js';

/** Raw RetinaNet head outputs per level and the anchors they belong to. */
export interface RetinaLossInput {
  /** [N, H, W, A * C] logits. */
  cls: readonly tf.Tensor4D[];
  /** [N, H, W, A * 4] encoded deltas. */
  reg: readonly tf.Tensor4D[];
  /** Anchors of each level, flat x1, y1, x2, y2 in (y, x, anchor) order. */
  anchors: readonly Float32Array[];
  targets: readonly DetectorTarget[];
}

export interface RetinaLossOptions extends RetinaAssignerOptions {
  coder: DeltaXYWHCoder;
  focus: ProgressiveFocus;
  /** 0: L1 (mmdetection's RetinaNet); > 0: smooth L1 with this beta (Detectron: 0.11). */
  smoothL1Beta: number;
  bboxLossWeight: number;
}

/**
 * The RetinaNet loss (mmdetection AnchorHead.loss without sampling):
 * - loss_cls: focal loss over all non-ignored anchors / max(#positives, 1);
 * - loss_bbox: (smooth) L1 between predicted and encoded target deltas of the positives / max(#positives, 1).
 * Assignment runs once, on plain arrays. Returned tensors belong to the caller.
 */
export function retinaLoss(input: RetinaLossInput, options: RetinaLossOptions): DetectorLoss {
  const { numClasses, coder, focus } = options;
  const numPerLevel = input.anchors.map((a) => a.length / 4);
  const allAnchors = concatLevels(input.anchors);
  const assigned = batchTargets(
    input.targets.map((t) => retinaTargets(allAnchors, t, options)),
    numPerLevel,
    numClasses,
  );
  const { positives, numPositives } = assigned;
  const avgFactor = Math.max(numPositives, 1);

  const clsLogits = flattenLevels(input.cls as tf.Tensor4D[], numClasses);
  const cls = focalClassificationLoss(focus, clsLogits, assigned.labelsByLevel, avgFactor);
  tf.dispose(clsLogits);

  const lossBbox = tf.tidy(() => {
    const deltas = tf.concat(flattenLevels(input.reg as tf.Tensor4D[], 4));
    if (numPositives === 0) return tf.mul(tf.sum(deltas), 0);
    const rows = (values: Float32Array) => tf.tensor2d(values, [numPositives, 4]);
    const targetDeltas = coder.encode(rows(assigned.pickPriors(input.anchors, 4)), rows(assigned.pick('boxTargets', 4))) as tf.Tensor2D;
    const predDeltas = tf.gather(deltas, tf.tensor1d(positives, 'int32')) as tf.Tensor2D;
    return tf.mul(l1BoxLoss(predDeltas, targetDeltas, avgFactor, options.smoothL1Beta), options.bboxLossWeight);
  }) as tf.Scalar;

  return {
    losses: { loss_cls: cls.loss, loss_bbox: lossBbox },
    total: tf.add(cls.loss, lossBbox) as tf.Scalar,
    stats: { levels: cls.levels, numPositives, avgFactor },
  };
}
