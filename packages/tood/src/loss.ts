import * as tf from '@tensorflow/tfjs-core';
import { giouLoss, type LevelStats, type ProgressiveFocus } from '@hpf/loss';
import { atssBoxTargets, batchTargets, concatLevels, flattenLevels, type DetectorLoss, type DetectorTarget } from '@hpf/dense';
import { taskAlignedTargets } from './task-aligned-assigner.js';

/** TOOD head outputs per level and the anchors they belong to. */
export interface ToodLossInput {
  /** [N, H, W, C] logits of the aligned score. */
  cls: readonly tf.Tensor4D[];
  /** [N, H, W, 4] aligned boxes in pixels. */
  boxes: readonly tf.Tensor4D[];
  /** Anchors of each level (used for ATSS and for anchor centres), flat x1, y1, x2, y2. */
  anchors: readonly Float32Array[];
  targets: readonly DetectorTarget[];
}

export interface ToodLossOptions {
  numClasses: number;
  /** 'atss': the warm-up (ATSS assignment, focal loss, centerness-weighted GIoU); 'tal': task alignment learning. */
  phase: 'atss' | 'tal';
  atssTopk: number;
  talTopk: number;
  talAlpha: number;
  talBeta: number;
  /** HPF / the published focusing: focal (warm-up) and quality focal (TAL) losses. */
  focus: ProgressiveFocus;
  /** Published 2.0 (GIoU). */
  bboxLossWeight: number;
}

/**
 * The TOOD loss (mmdetection TOODHead.loss):
 * - warm-up ('atss'): ATSS assignment; loss_cls = focal loss / max(#pos, 1); loss_bbox = 2 * sum
 *   centerness_target * (1 - GIoU) / max(sum centerness, 1);
 * - 'tal': task-aligned assignment on the current predictions; loss_cls = quality focal loss with the
 *   normalised alignment targets as scores / max(sum targets, 1); loss_bbox = 2 * sum target *
 *   (1 - GIoU) / max(sum targets, 1).
 * HPF focuses gamma (warm-up) or beta (TAL) per level. Returned tensors belong to the caller.
 */
export function toodLoss(input: ToodLossInput, options: ToodLossOptions): DetectorLoss {
  const { numClasses, focus } = options;
  const batch = input.cls[0]!.shape[0];
  const numPerLevel = input.anchors.map((a) => a.length / 4);
  const m = numPerLevel.reduce((s, n) => s + n, 0);
  const allAnchors = concatLevels(input.anchors);

  const byImage = (levels: readonly tf.Tensor4D[], k: number) =>
    tf.tidy(() => tf.reshape(tf.concat(levels.map((x, l) => tf.reshape(x, [batch, numPerLevel[l]!, k])), 1), [batch * m, k])) as tf.Tensor2D;
  const boxes = byImage(input.boxes, 4);

  // assignment (no gradient): per image labels, box targets and weights
  let perImage: Array<{ labels: Int32Array; boxTargets: Float32Array; weights: Float32Array }>;
  if (options.phase === 'atss') {
    perImage = input.targets.map((t) => {
      const a = atssBoxTargets(allAnchors, numPerLevel, t, { numClasses, topk: options.atssTopk });
      return { labels: a.labels, boxTargets: a.boxTargets, weights: a.centerness };
    });
  } else {
    const [scores, predBoxes] = tf.tidy(() => [tf.sigmoid(byImage(input.cls, numClasses)).dataSync(), boxes.dataSync() as Float32Array] as const);
    perImage = input.targets.map((t, i) => {
      const a = taskAlignedTargets(
        scores.subarray(i * m * numClasses, (i + 1) * m * numClasses),
        predBoxes.subarray(i * m * 4, (i + 1) * m * 4),
        allAnchors,
        t,
        { numClasses, topk: options.talTopk, alpha: options.talAlpha, beta: options.talBeta },
      );
      return { labels: a.labels, boxTargets: a.boxTargets, weights: a.alignTargets };
    });
  }
  const assigned = batchTargets(perImage, numPerLevel, numClasses);
  const { labelsByLevel, positives, numPositives } = assigned;
  const weightsByLevel = assigned.byLevel('weights');
  const positiveWeights = assigned.pick('weights', 1);
  const weightSum = positiveWeights.reduce((s, w) => s + w, 0);
  const clsAvg = options.phase === 'atss' ? Math.max(numPositives, 1) : Math.max(weightSum, 1);

  const clsLogits = flattenLevels(input.cls as tf.Tensor4D[], numClasses);
  const labelTensors = labelsByLevel.map((a) => tf.tensor1d(a, 'int32'));
  const scoreTensors = weightsByLevel.map((a) => tf.tensor1d(a, 'float32'));
  let cls: { loss: tf.Scalar; levels: LevelStats[] };
  try {
    cls =
      options.phase === 'atss'
        ? focus.focalLoss(clsLogits.map((z, l) => ({ logits: z, labels: labelTensors[l]! })), { avgFactor: clsAvg })
        : focus.qualityFocalLoss(clsLogits.map((z, l) => ({ logits: z, labels: labelTensors[l]!, scores: scoreTensors[l]! })), { avgFactor: clsAvg });
  } finally {
    tf.dispose([...clsLogits, ...labelTensors, ...scoreTensors]);
  }

  // boxes in the level-major order of the positives (image-major `boxes` re-ordered per level)
  const lossBbox = tf.tidy(() => {
    const levelBoxes = tf.concat(flattenLevels(input.boxes as tf.Tensor4D[], 4));
    if (numPositives === 0) return tf.mul(tf.sum(levelBoxes), 0);
    const pred = tf.gather(levelBoxes, tf.tensor1d(positives, 'int32')) as tf.Tensor2D;
    const giou = giouLoss(pred, tf.tensor2d(assigned.pick('boxTargets', 4), [numPositives, 4]), { weights: tf.tensor1d(positiveWeights), reduction: 'sum' });
    return tf.mul(giou, options.bboxLossWeight / Math.max(weightSum, 1));
  }) as tf.Scalar;
  boxes.dispose();

  return {
    losses: { loss_cls: cls.loss, loss_bbox: lossBbox },
    total: tf.add(cls.loss, lossBbox) as tf.Scalar,
    stats: { levels: cls.levels, numPositives, avgFactor: clsAvg },
  };
}
