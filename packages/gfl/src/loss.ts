import * as tf from '@tensorflow/tfjs-core';
import { distributionFocalLoss, giouLoss, type ProgressiveFocus } from '@hpf/loss';
import {
  alignedIoUArray,
  batchTargets,
  concatLevels,
  flattenLevels,
  priorCenters,
  type DetectorLoss,
  type DetectorTarget,
} from '@hpf/dense';
import { gflTargets } from './assigner.js';
import { integralDistances } from './integral.js';

/** Raw GFL head outputs per level and the anchors they belong to. */
export interface GflLossInput {
  /** [N, H, W, C] joint class-quality logits. */
  cls: readonly tf.Tensor4D[];
  /** [N, H, W, 4 (regMax + 1)] bin logits (after the level's Scale). */
  reg: readonly tf.Tensor4D[];
  /** Anchors of each level, flat x1, y1, x2, y2 in (y, x) order. */
  anchors: readonly Float32Array[];
  /** Stride of each level. */
  strides: readonly number[];
  targets: readonly DetectorTarget[];
}

export interface GflLossOptions {
  numClasses: number;
  topk: number;
  regMax: number;
  /** Quality focal loss driver: HPF on beta, or the static QFL (mode 'off'). */
  focus: ProgressiveFocus;
  /** Published: 2.0 (GIoU), 0.25 (DFL). */
  bboxLossWeight: number;
  dflLossWeight: number;
}

// mmdetection's bbox2distance clamps the DFL target below reg_max by this margin (eps 0.1).
const DFL_TARGET_MARGIN = 0.1;

/**
 * The GFL loss (mmdetection GFLHead.loss), in stride units per level as the reference:
 * - loss_cls: quality focal loss (beta 2) over all non-ignored priors, the soft target of a
 *   positive being the IoU of its decoded (detached) prediction with its gt, / max(#positives, 1);
 * - loss_bbox: 2.0 x sum over positives of w (1 - GIoU) / max(sum w, 1), w = the positive's
 *   highest class probability (detached);
 * - loss_dfl: 0.25 x sum over positives and sides of w DFL / 4 / max(sum w, 1).
 * The prediction-dependent targets (IoU, w) come from one read-back of the positives. Returned
 * tensors belong to the caller.
 */
export function gflLoss(input: GflLossInput, options: GflLossOptions): DetectorLoss {
  const { numClasses, regMax, focus } = options;
  const batch = input.cls[0]!.shape[0];
  const numPerLevel = input.anchors.map((a) => a.length / 4);
  if (input.strides.length !== numPerLevel.length) throw new Error(`gflLoss: ${input.strides.length} strides for ${numPerLevel.length} levels`);
  const allAnchors = concatLevels(input.anchors);
  const assigned = batchTargets(
    input.targets.map((t) => gflTargets(allAnchors, numPerLevel, t, options)),
    numPerLevel,
    numClasses,
  );
  const { labelsByLevel, positives, numPositives } = assigned;
  const avgFactor = Math.max(numPositives, 1);
  const qualityScores = new Float32Array(labelsByLevel.reduce((s, a) => s + a.length, 0));

  const clsLogits = flattenLevels(input.cls as tf.Tensor4D[], numClasses);
  let lossBbox: tf.Scalar;
  let lossDfl: tf.Scalar;
  if (numPositives === 0) {
    [lossBbox, lossDfl] = tf.tidy(() => {
      const zero = tf.mul(tf.addN(input.reg.map((r) => tf.sum(r))), 0) as tf.Scalar;
      return [zero, tf.clone(zero)];
    });
  } else {
    // Positives' centres and gt boxes in their level's stride units.
    const anchorCenters = priorCenters(assigned.pickPriors(input.anchors, 4), 4);
    const boxTargets = assigned.pick('boxTargets', 4);
    const centers = new Float32Array(2 * numPositives);
    const gtBoxes = new Float32Array(4 * numPositives);
    const dflTargets = new Float32Array(4 * numPositives);
    for (let k = 0; k < numPositives; k++) {
      const s = input.strides[assigned.positiveLevels[k]!]!;
      const [cx, cy] = [anchorCenters[2 * k]! / s, anchorCenters[2 * k + 1]! / s];
      centers.set([cx, cy], 2 * k);
      const b = boxTargets.subarray(4 * k, 4 * k + 4);
      const box = [b[0]! / s, b[1]! / s, b[2]! / s, b[3]! / s];
      gtBoxes.set(box, 4 * k);
      const sides = [cx - box[0]!, cy - box[1]!, box[2]! - cx, box[3]! - cy];
      sides.forEach((d, j) => (dflTargets[4 * k + j] = Math.min(Math.max(d, 0), regMax - DFL_TARGET_MARGIN)));
    }
    const index = tf.tensor1d(positives, 'int32');
    const centerTensor = tf.tensor2d(centers, [numPositives, 2]);
    const [binLogits, predBoxes] = tf.tidy(() => {
      const bins = tf.gather(tf.concat(flattenLevels(input.reg as tf.Tensor4D[], 4 * (regMax + 1))), index) as tf.Tensor2D;
      const distances = integralDistances(bins, regMax);
      const [cx, cy] = tf.unstack(centerTensor, 1) as [tf.Tensor1D, tf.Tensor1D];
      const [l, t, r, b] = tf.unstack(distances, 1);
      const boxes = tf.stack([tf.sub(cx, l!), tf.sub(cy, t!), tf.add(cx, r!), tf.add(cy, b!)], 1) as tf.Tensor2D;
      return [bins, boxes];
    });
    // The read-back that detaches IoU and w (mmdetection: .detach()).
    const detached = tf.tidy(() => {
      const maxProbability = tf.max(tf.sigmoid(tf.gather(tf.concat(clsLogits), index)), 1, true);
      return tf.concat([predBoxes, maxProbability], 1).dataSync() as Float32Array;
    });
    const predArray = new Float32Array(4 * numPositives);
    const weights = new Float32Array(numPositives);
    for (let k = 0; k < numPositives; k++) {
      predArray.set(detached.subarray(5 * k, 5 * k + 4), 4 * k);
      weights[k] = detached[5 * k + 4]!;
    }
    alignedIoUArray(predArray, gtBoxes).forEach((iou, k) => (qualityScores[positives[k]!] = iou));
    const weightSum = Math.max(weights.reduce((s, v) => s + v, 0), 1);
    [lossBbox, lossDfl] = tf.tidy(() => {
      const w = tf.tensor1d(weights);
      const giou = giouLoss(predBoxes, tf.tensor2d(gtBoxes, [numPositives, 4]), { weights: w, reduction: 'sum' });
      const sideWeights = tf.reshape(tf.tile(tf.expandDims(w, 1), [1, 4]), [-1]) as tf.Tensor1D;
      const dfl = distributionFocalLoss(tf.reshape(binLogits, [4 * numPositives, regMax + 1]), tf.tensor1d(dflTargets), {
        weights: sideWeights,
        reduction: 'sum',
      });
      return [tf.mul(giou, options.bboxLossWeight / weightSum), tf.mul(dfl, options.dflLossWeight / 4 / weightSum)] as [tf.Scalar, tf.Scalar];
    });
    tf.dispose([index, centerTensor, binLogits, predBoxes]);
  }

  const levelScores = splitByLevel(qualityScores, numPerLevel.map((n) => n * batch));
  const labelTensors = labelsByLevel.map((a) => tf.tensor1d(a, 'int32'));
  const scoreTensors = levelScores.map((a) => tf.tensor1d(a));
  let cls;
  try {
    cls = focus.qualityFocalLoss(
      clsLogits.map((z, l) => ({ logits: z, labels: labelTensors[l]!, scores: scoreTensors[l]! })),
      { avgFactor },
    );
  } finally {
    tf.dispose([...labelTensors, ...scoreTensors, ...clsLogits]);
  }

  const losses = { loss_cls: cls.loss, loss_bbox: lossBbox, loss_dfl: lossDfl };
  return {
    losses,
    total: tf.addN([cls.loss, lossBbox, lossDfl]) as tf.Scalar,
    stats: { levels: cls.levels, numPositives, avgFactor },
  };
}

function splitByLevel(values: Float32Array, sizes: readonly number[]): Float32Array[] {
  let start = 0;
  return sizes.map((n) => {
    const part = values.slice(start, start + n);
    start += n;
    return part;
  });
}
