import * as tf from '@tensorflow/tfjs-core';
import { giouLoss, type ProgressiveFocus } from '@hpf/loss';
import {
  alignedIoUArray,
  atssBoxTargets,
  batchTargets,
  concatLevels,
  flattenLevels,
  priorCenters,
  type DetectorLoss,
  type DetectorTarget,
} from '@hpf/dense';

/** Raw VFNet head outputs per level and the anchors they belong to. */
export interface VfnetLossInput {
  /** [N, H, W, C] IoU-aware class logits. */
  cls: readonly tf.Tensor4D[];
  /** [N, H, W, 8]: initial (0-3) and refined (4-7) box sides (l, t, r, b) in pixels. */
  reg: readonly tf.Tensor4D[];
  /** ATSS anchors of each level, flat x1, y1, x2, y2; their centres are the regression points. */
  anchors: readonly Float32Array[];
  targets: readonly DetectorTarget[];
}

export interface VfnetLossOptions {
  numClasses: number;
  topk: number;
  /** Varifocal loss driver: HPF on the negative term's gamma, or the static VFL (mode 'off'). */
  focus: ProgressiveFocus;
  /** Published: 1.5 (initial GIoU), 2.0 (refined GIoU). */
  bboxLossWeight: number;
  bboxRefineLossWeight: number;
}

// mmdetection clamps the IoU targets below at 1e-6 so every positive stays a VFL positive.
const MIN_IOU = 1e-6;

/**
 * The VFNet loss (mmdetection VFNetHead.loss_by_feat, ATSS targets):
 * - loss_cls: varifocal loss (alpha 0.75, gamma 2, IoU-weighted positives) with target q = IoU of
 *   the refined box (detached) at the positive's class, 0 elsewhere, / max(#positives, 1);
 * - loss_bbox: 1.5 x sum over positives of IoU_init (1 - GIoU(initial box, gt)) / max(sum IoU_init, 1);
 * - loss_bbox_rf: 2.0 x the same for the refined box with IoU_refined;
 * the IoUs are weights without gradient (one read-back of the positives' boxes). Ignored priors
 * (crowd) get VFL weight 0. Returned tensors belong to the caller.
 */
export function vfnetLoss(input: VfnetLossInput, options: VfnetLossOptions): DetectorLoss {
  const { numClasses, focus } = options;
  const numPerLevel = input.anchors.map((a) => a.length / 4);
  const allAnchors = concatLevels(input.anchors);
  const assigned = batchTargets(
    input.targets.map((t) => atssBoxTargets(allAnchors, numPerLevel, t, options)),
    numPerLevel,
    numClasses,
  );
  const { labelsByLevel, positives, numPositives } = assigned;
  const avgFactor = Math.max(numPositives, 1);
  const iouTargets = new Float32Array(labelsByLevel.reduce((s, a) => s + a.length, 0));

  let lossBbox: tf.Scalar;
  let lossRefine: tf.Scalar;
  if (numPositives === 0) {
    [lossBbox, lossRefine] = tf.tidy(() => {
      const zero = tf.mul(tf.addN(input.reg.map((r) => tf.sum(r))), 0) as tf.Scalar;
      return [zero, tf.clone(zero)];
    });
  } else {
    const gtBoxes = assigned.pick('boxTargets', 4);
    const index = tf.tensor1d(positives, 'int32');
    const [initialBoxes, refinedBoxes] = tf.tidy(() => {
      const sides = tf.gather(tf.concat(flattenLevels(input.reg as tf.Tensor4D[], 8)), index);
      const [px, py] = tf.unstack(tf.tensor2d(priorCenters(assigned.pickPriors(input.anchors, 4), 4), [numPositives, 2]), 1) as [tf.Tensor1D, tf.Tensor1D];
      const decode = (s: tf.Tensor2D) => {
        const [l, t, r, b] = tf.unstack(s, 1);
        return tf.stack([tf.sub(px, l!), tf.sub(py, t!), tf.add(px, r!), tf.add(py, b!)], 1) as tf.Tensor2D;
      };
      return [decode(tf.slice(sides, [0, 0], [-1, 4])), decode(tf.slice(sides, [0, 4], [-1, 4]))];
    });
    // The read-back that detaches the IoUs (mmdetection: .detach()).
    const both = tf.tidy(() => tf.concat([initialBoxes, refinedBoxes], 1).dataSync() as Float32Array);
    const initialArray = new Float32Array(4 * numPositives);
    const refinedArray = new Float32Array(4 * numPositives);
    for (let k = 0; k < numPositives; k++) {
      initialArray.set(both.subarray(8 * k, 8 * k + 4), 4 * k);
      refinedArray.set(both.subarray(8 * k + 4, 8 * k + 8), 4 * k);
    }
    const iouInitial = alignedIoUArray(initialArray, gtBoxes).map((v) => Math.max(v, MIN_IOU));
    const iouRefined = alignedIoUArray(refinedArray, gtBoxes).map((v) => Math.max(v, MIN_IOU));
    positives.forEach((p, k) => (iouTargets[p] = iouRefined[k]!));
    const weighted = (boxes: tf.Tensor2D, ious: Float32Array, weight: number) =>
      tf.tidy(() => {
        const sum = giouLoss(boxes, tf.tensor2d(gtBoxes, [numPositives, 4]), { weights: tf.tensor1d(ious), reduction: 'sum' });
        return tf.mul(sum, weight / Math.max(ious.reduce((s, v) => s + v, 0), 1)) as tf.Scalar;
      });
    lossBbox = weighted(initialBoxes, iouInitial, options.bboxLossWeight);
    lossRefine = weighted(refinedBoxes, iouRefined, options.bboxRefineLossWeight);
    tf.dispose([index, initialBoxes, refinedBoxes]);
  }

  // Per level: [M_l, C] IoU targets at each positive's class, weights 0 for ignored priors.
  const clsLogits = flattenLevels(input.cls as tf.Tensor4D[], numClasses);
  let offset = 0;
  const levelTensors = labelsByLevel.map((levelLabels) => {
    const m = levelLabels.length;
    const targets = new Float32Array(m * numClasses);
    const weights = new Float32Array(m);
    levelLabels.forEach((label, i) => {
      weights[i] = label < 0 ? 0 : 1;
      if (label >= 0 && label < numClasses) targets[i * numClasses + label] = iouTargets[offset + i]!;
    });
    offset += m;
    return { targets: tf.tensor2d(targets, [m, numClasses]), weights: tf.tensor1d(weights) };
  });
  let cls;
  try {
    cls = focus.varifocalLoss(
      clsLogits.map((z, l) => ({ logits: z, targets: levelTensors[l]!.targets, weights: levelTensors[l]!.weights })),
      { avgFactor },
    );
  } finally {
    tf.dispose([...clsLogits, ...levelTensors.flatMap((t) => [t.targets, t.weights])]);
  }

  const losses = { loss_cls: cls.loss, loss_bbox: lossBbox, loss_bbox_rf: lossRefine };
  return {
    losses,
    total: tf.addN([cls.loss, lossBbox, lossRefine]) as tf.Scalar,
    stats: { levels: cls.levels, numPositives, avgFactor },
  };
}
