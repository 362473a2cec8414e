import * as tf from '@tensorflow/tfjs-core';
import { binaryCrossEntropyWithLogits, giouLoss, type ProgressiveFocus } from '@hpf/loss';
import {
  batchByLevel,
  concatLevels,
  flattenLevels,
  focalClassificationLoss,
  type DeltaXYWHCoder,
  type DetectorLoss,
  type DetectorTarget,
} from '@hpf/dense';
import { paaCandidates, paaReassign } from './assigner.js';

/** Raw PAA head outputs per level and the anchors they belong to. */
export interface PaaLossInput {
  /** [N, H, W, C] logits. */
  cls: readonly tf.Tensor4D[];
  /** [N, H, W, 4] encoded deltas (after the level's Scale). */
  reg: readonly tf.Tensor4D[];
  /** [N, H, W, 1] IoU-prediction logits. */
  iou: readonly tf.Tensor4D[];
  /** Anchors of each level, flat x1, y1, x2, y2 in (y, x) order. */
  anchors: readonly Float32Array[];
  targets: readonly DetectorTarget[];
}

export interface PaaLossOptions {
  numClasses: number;
  /** Candidates per level and gt for the mixture. Published 9. */
  topk: number;
  /** Candidate IoU threshold. Published 0.1. */
  candidateIouThr: number;
  ignoreIofThr: number;
  coder: DeltaXYWHCoder;
  /** Classification loss driver: HPF or the static focal loss (mode 'off'). */
  focus: ProgressiveFocus;
  /** Published focal parameters, used to score candidates (in both hpf modes: assignment is not HPF's). */
  scoringFocus: { gamma: number; alpha: number };
  /** Published: 1.3 (GIoU), 0.5 (IoU prediction). */
  bboxLossWeight: number;
  iouLossWeight: number;
}

/** Per-prior PAA targets of the batch after reassignment (exposed for tests and tools). */
export interface PaaBatchTargets {
  /** Per image, per anchor: class for positives, numClasses background, -1 ignored. */
  labels: Int32Array[];
  /** Per image: positive anchor indices (ascending) and their gt. */
  positives: Array<{ anchors: Int32Array; gt: Int32Array }>;
  /** Per image: candidates before reassignment and their scores. */
  candidates: Array<{ anchors: Int32Array; gt: Int32Array; loss: Float64Array }>;
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
const softplus = (z: number) => Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z)));

/** Sigmoid focal loss summed over classes of one prior (float64), target class `label`. */
function focalSum(logits: ArrayLike<number>, offset: number, numClasses: number, label: number, gamma: number, alpha: number): number {
  let sum = 0;
  for (let c = 0; c < numClasses; c++) {
    const z = logits[offset + c]!;
    const p = sigmoid(z);
    sum += c === label ? alpha * (1 - p) ** gamma * softplus(-z) : (1 - alpha) * p ** gamma * softplus(z);
  }
  return sum;
}

/** IoU and GIoU of two boxes (float64). */
function iouGiou(a: ArrayLike<number>, ai: number, b: ArrayLike<number>, bi: number): [number, number] {
  const [ax1, ay1, ax2, ay2] = [a[ai]!, a[ai + 1]!, a[ai + 2]!, a[ai + 3]!];
  const [bx1, by1, bx2, by2] = [b[bi]!, b[bi + 1]!, b[bi + 2]!, b[bi + 3]!];
  const inter = Math.max(0, Math.min(ax2, bx2) - Math.max(ax1, bx1)) * Math.max(0, Math.min(ay2, by2) - Math.max(ay1, by1));
  const union = Math.max((ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter, 1e-6);
  const enclose = Math.max((Math.max(ax2, bx2) - Math.min(ax1, bx1)) * (Math.max(ay2, by2) - Math.min(ay1, by1)), 1e-7);
  const iou = inter / union;
  return [iou, iou - (enclose - union) / enclose];
}

/**
 * The PAA loss (mmdetection PAAHead.loss):
 * 1. candidates: anchors with IoU >= 0.1 with a gt (plus each gt's best anchors);
 * 2. each candidate's score: focal loss (summed over classes) + 1.3 * (1 - GIoU(decoded box, gt)),
 *    read from the current predictions without gradient;
 * 3. reassignment per gt by the two-component Gaussian mixture (`paaReassign`); other candidates
 *    become background;
 * 4. loss_cls: focal loss (or HPF) over all non-ignored anchors / max(#positives, #images);
 *    loss_bbox: 1.3 * sum IoU_t * (1 - GIoU) / sum IoU_t over positives (IoU_t: IoU of the decoded
 *    box with its gt, no gradient); loss_iou: 0.5 * BCE(IoU logit, IoU_t) / #positives.
 * Returned tensors belong to the caller.
 */
export function paaLoss(input: PaaLossInput, options: PaaLossOptions): DetectorLoss & { targets: PaaBatchTargets } {
  const { numClasses, coder, focus } = options;
  const batch = input.cls[0]!.shape[0];
  const numPerLevel = input.anchors.map((a) => a.length / 4);
  const m = numPerLevel.reduce((s, n) => s + n, 0);
  const allAnchors = concatLevels(input.anchors);

  const byImage = (levels: readonly tf.Tensor4D[], k: number) =>
    tf.tidy(() => tf.reshape(tf.concat(levels.map((x, l) => tf.reshape(x, [batch, numPerLevel[l]!, k])), 1), [batch * m, k])) as tf.Tensor2D;
  const logits = byImage(input.cls, numClasses);
  const deltas = byImage(input.reg, 4);
  const iouLogits = byImage(input.iou, 1);

  // --- assignment (no gradient): candidates, their scores, the mixture ---
  const perImage = input.targets.map((t) => paaCandidates(allAnchors, t, options));
  const flatCandidates: number[] = [];
  perImage.forEach((c, i) => c.candidates.forEach((j) => flatCandidates.push(i * m + j)));
  const numCandidates = flatCandidates.length;
  let candidateLogits: ArrayLike<number> = new Float32Array(0);
  let candidateBoxes: ArrayLike<number> = new Float32Array(0);
  if (numCandidates > 0) {
    tf.tidy(() => {
      const index = tf.tensor1d(flatCandidates, 'int32');
      const anchors = tf.tensor2d(Float32Array.from(flatCandidates.flatMap((p) => Array.from(allAnchors.subarray(4 * (p % m), 4 * (p % m) + 4)))), [numCandidates, 4]);
      candidateLogits = tf.gather(logits, index).dataSync();
      candidateBoxes = coder.decode(anchors, tf.gather(deltas, index)).dataSync();
    });
  }
  const { gamma, alpha } = options.scoringFocus;
  const labels: Int32Array[] = [];
  const positives: PaaBatchTargets['positives'] = [];
  const candidates: PaaBatchTargets['candidates'] = [];
  const iouTargetOf = new Map<number, number>(); // flat prior -> IoU of its decoded box with its gt
  let offset = 0;
  perImage.forEach((c, i) => {
    const t = input.targets[i]!;
    const gt = Int32Array.from(c.candidates, (j) => c.gtIndex[j]!);
    const loss = new Float64Array(c.candidates.length);
    const iouOf = new Float64Array(c.candidates.length);
    c.candidates.forEach((j, k) => {
      const g = gt[k]!;
      const [iou, giou] = iouGiou(candidateBoxes, 4 * (offset + k), t.boxes, 4 * g);
      loss[k] = focalSum(candidateLogits, (offset + k) * numClasses, numClasses, t.labels[g]!, gamma, alpha) + options.bboxLossWeight * (1 - giou);
      iouOf[k] = iou;
    });
    const chosen = paaReassign({ candidates: c.candidates, candidateGt: gt, candidateLoss: loss, numPerLevel, numGts: t.labels.length, topk: options.topk });
    const isPositive = new Set(chosen);
    const imageLabels = Int32Array.from(c.labels);
    const posAnchors: number[] = [];
    const posGt: number[] = [];
    c.candidates.forEach((j, k) => {
      if (isPositive.has(j)) {
        posAnchors.push(j);
        posGt.push(gt[k]!);
        iouTargetOf.set(i * m + j, iouOf[k]!);
      } else {
        imageLabels[j] = numClasses;
      }
    });
    labels.push(imageLabels);
    positives.push({ anchors: Int32Array.from(posAnchors), gt: Int32Array.from(posGt) });
    candidates.push({ anchors: c.candidates, gt, loss });
    offset += c.candidates.length;
  });

  // --- losses ---
  const flatPositives: number[] = [];
  const posTargets: number[] = [];
  positives.forEach((p, i) =>
    p.anchors.forEach((j, k) => {
      flatPositives.push(i * m + j);
      const g = p.gt[k]!;
      for (let d = 0; d < 4; d++) posTargets.push(input.targets[i]!.boxes[4 * g + d]!);
    }),
  );
  const numPositives = flatPositives.length;
  const avgFactor = Math.max(numPositives, batch);

  const labelsByLevel = batchByLevel(labels, numPerLevel);
  const clsLogits = flattenLevels(input.cls as tf.Tensor4D[], numClasses);
  const cls = focalClassificationLoss(focus, clsLogits, labelsByLevel, avgFactor);
  tf.dispose(clsLogits);

  const [lossBbox, lossIou] = tf.tidy(() => {
    if (numPositives === 0) return [tf.mul(tf.sum(deltas), 0), tf.mul(tf.sum(iouLogits), 0)];
    const index = tf.tensor1d(flatPositives, 'int32');
    const iouTargets = Float32Array.from(flatPositives, (p) => iouTargetOf.get(p)!);
    const iouSum = iouTargets.reduce((s, v) => s + v, 0);
    const anchors = tf.tensor2d(Float32Array.from(flatPositives.flatMap((p) => Array.from(allAnchors.subarray(4 * (p % m), 4 * (p % m) + 4)))), [numPositives, 4]);
    const boxes = coder.decode(anchors, tf.gather(deltas, index)) as tf.Tensor2D;
    const giou = giouLoss(boxes, tf.tensor2d(posTargets, [numPositives, 4]), {
      weights: tf.tensor1d(iouTargets.map((v) => Math.max(v, 1e-12))),
      reduction: 'sum',
    });
    // mmdetection divides by avg_factor + float32 eps
    const bbox = tf.mul(giou, options.bboxLossWeight / (iouSum + 1.1920928955078125e-7));
    const z = tf.reshape(tf.gather(iouLogits, index), [-1]) as tf.Tensor1D;
    const bce = binaryCrossEntropyWithLogits(z, tf.tensor1d(iouTargets), { reduction: 'sum' });
    return [bbox, tf.mul(bce, options.iouLossWeight / numPositives)];
  }) as [tf.Scalar, tf.Scalar];
  tf.dispose([logits, deltas, iouLogits]);

  return {
    losses: { loss_cls: cls.loss, loss_bbox: lossBbox, loss_iou: lossIou },
    total: tf.addN([cls.loss, lossBbox, lossIou]) as tf.Scalar,
    stats: { levels: cls.levels, numPositives, avgFactor },
    targets: { labels, positives, candidates },
  };
}
