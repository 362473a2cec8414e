import * as tf from '@tensorflow/tfjs-core';
import { type LevelStats, type ProgressiveFocus, smoothL1 } from '@hpf/loss';
import { boxIoUArray, concatLevels, type DeltaXYWHCoder, type DetectorLoss, type DetectorTarget } from '@hpf/dense';
import { anchorBags, boxProbability } from './bags.js';

/** Raw FreeAnchor (RetinaNet) head outputs per level and the anchors they belong to. */
export interface FreeAnchorLossInput {
  /** [N, H, W, A * C] logits. */
  cls: readonly tf.Tensor4D[];
  /** [N, H, W, A * 4] encoded deltas. */
  reg: readonly tf.Tensor4D[];
  /** Anchors of each level, flat x1, y1, x2, y2 in (y, x, anchor) order. */
  anchors: readonly Float32Array[];
  targets: readonly DetectorTarget[];
}

export interface FreeAnchorLossOptions {
  numClasses: number;
  /** Anchors per object bag. Published 50. */
  preAnchorTopk: number;
  /** t1 of the saturated linear box probability. Published 0.6. */
  bboxThr: number;
  /** Positive bag weight alpha (the negative bag gets 1 - alpha_l). Published 0.5. */
  alpha: number;
  coder: DeltaXYWHCoder;
  /** Smooth-L1 beta of the bag's box likelihood. Published 0.11. */
  smoothL1Beta: number;
  /** Smooth-L1 weight inside exp(-loss). Published 0.75. */
  bboxLossWeight: number;
  /** Anchors whose intersection-over-anchor-area with a crowd box exceeds this get no negative loss. */
  ignoreIofThr: number;
  /** Drives gamma_l, alpha_l of the negative bag loss (mode 'off': gamma 2, alpha 0.5 everywhere). */
  focus: ProgressiveFocus;
}

/** log(x) floored at -100, as torch's binary_cross_entropy does. */
function clampedLog(x: tf.Tensor): tf.Tensor {
  return tf.maximum(tf.log(x), -100);
}

/**
 * The FreeAnchor loss (Zhang et al., NeurIPS 2019; mmdetection FreeAnchorRetinaHead.loss):
 * - positive_bag_loss: per object, the bag of its `preAnchorTopk` anchors by IoU;
 *   P_ij = sigmoid(z_ij at the object's class) * exp(-w * smoothL1(deltas_ij, target deltas));
 *   mean-max(P) = sum_j P_ij / (1 - P_ij) / sum_j 1 / (1 - P_ij); loss alpha * -log(mean-max),
 *   summed over objects / max(1, #objects);
 * - negative_bag_loss: per (anchor, class), q = sigmoid(z) * (1 - P{a in A+}) clamped to
 *   [1e-12, 1 - 1e-12], (1 - alpha_l) q^gamma_l * -log(1 - q), summed / max(1, #objects * topk).
 * HPF acts only on the negative term: gamma_l, alpha_l come from `focus.levelFocus`, fed at each
 * object's bag-max anchor (the anchor with the largest P_ij in its bag, own-class logit).
 * Returned tensors belong to the caller.
 */
export function freeAnchorLoss(input: FreeAnchorLossInput, options: FreeAnchorLossOptions): DetectorLoss {
  const { numClasses, coder, focus, preAnchorTopk: topk } = options;
  const batch = input.cls[0]!.shape[0];
  const numPerLevel = input.anchors.map((a) => a.length / 4);
  const levelStart = numPerLevel.map((_, l) => numPerLevel.slice(0, l).reduce((s, n) => s + n, 0));
  const m = levelStart[levelStart.length - 1]! + numPerLevel[numPerLevel.length - 1]!;
  const allAnchors = concatLevels(input.anchors);

  // Image-major views over all levels ([N, M, k], mmdetection's order), built from the level outputs.
  const byImage = (levels: readonly tf.Tensor4D[], k: number) =>
    tf.tidy(() => tf.concat(levels.map((x, l) => tf.reshape(x, [batch, numPerLevel[l]!, k])), 1)) as tf.Tensor3D;
  const logits = byImage(input.cls, numClasses);
  const deltas = byImage(input.reg, 4);

  // --- plain-array part (no gradient): predicted boxes, box probability, bags ---
  const predBoxes = tf.tidy(() => coder.decode(tf.tensor2d(allAnchors, [m, 4]), deltas)).dataSync() as Float32Array;
  const boxProb: Float32Array[] = [];
  const bagIndex: number[] = []; // flat prior index (image * M + anchor) per bag member
  const bagTargets: number[] = []; // the object's box, per bag member
  const bagClass: number[] = []; // flat logit index ((image * M + anchor) * C + class)
  const ignored: number[] = []; // flat prior indices inside crowd boxes
  let numObjects = 0;
  input.targets.forEach((t, i) => {
    const g = t.labels.length;
    boxProb.push(boxProbability(predBoxes.subarray(i * m * 4, (i + 1) * m * 4), t.boxes, t.labels, numClasses, options.bboxThr));
    const bags = anchorBags(allAnchors, t.boxes, topk);
    for (let o = 0; o < g; o++) {
      for (let k = 0; k < topk; k++) {
        const j = bags[o * topk + k]!;
        bagIndex.push(i * m + j);
        bagClass.push((i * m + j) * numClasses + t.labels[o]!);
        for (let d = 0; d < 4; d++) bagTargets.push(t.boxes[4 * o + d]!);
      }
    }
    numObjects += g;
    if (t.ignoreBoxes.length > 0) {
      const numIgnore = t.ignoreBoxes.length / 4;
      const iof = boxIoUArray(allAnchors, t.ignoreBoxes, 'iof');
      for (let j = 0; j < m; j++) {
        for (let k = 0; k < numIgnore; k++) {
          if (iof[j * numIgnore + k]! > options.ignoreIofThr) {
            ignored.push(i * m + j);
            break;
          }
        }
      }
    }
  });

  // --- positive bag loss ---
  const numBag = numObjects * topk;
  let positiveLoss: tf.Scalar;
  let bagMax: number[] = [];
  if (numObjects === 0) {
    positiveLoss = tf.tidy(() => tf.mul(tf.sum(deltas), 0) as tf.Scalar);
  } else {
    const matchedProb = tf.tidy(() => {
      const z = tf.gather(tf.reshape(logits, [-1]), tf.tensor1d(bagClass, 'int32'));
      const pred = tf.gather(tf.reshape(deltas, [-1, 4]), tf.tensor1d(bagIndex, 'int32'));
      const bagAnchors = tf.tensor2d(bagIndex.map((p) => p % m).flatMap((j) => Array.from(allAnchors.subarray(4 * j, 4 * j + 4))), [numBag, 4]);
      const target = coder.encode(bagAnchors, tf.tensor2d(bagTargets, [numBag, 4]));
      const smooth = smoothL1(tf.abs(tf.sub(pred, target)), options.smoothL1Beta);
      const boxLoss = tf.mul(tf.sum(smooth, 1), options.bboxLossWeight);
      return tf.reshape(tf.mul(tf.sigmoid(z), tf.exp(tf.neg(boxLoss))), [numObjects, topk]);
    });
    const values = matchedProb.dataSync();
    for (let o = 0; o < numObjects; o++) {
      let best = 0;
      for (let k = 1; k < topk; k++) if (values[o * topk + k]! > values[o * topk + best]!) best = k;
      bagMax.push(o * topk + best);
    }
    positiveLoss = tf.tidy(() => {
      // mean-max: weights 1 / (1 - P), normalised per bag (gradient flows through the weights too).
      const weight = tf.div(1, tf.maximum(tf.sub(1, matchedProb), 1e-12));
      const normalised = tf.div(weight, tf.sum(weight, 1, true));
      const bagProb = tf.sum(tf.mul(normalised, matchedProb), 1);
      const perObject = tf.mul(tf.neg(clampedLog(bagProb)), options.alpha);
      return tf.div(tf.sum(perObject), Math.max(1, numObjects)) as tf.Scalar;
    });
    matchedProb.dispose();
  }

  // --- HPF focus of the negative term: fed by each object's bag-max anchor ---
  const levelOf = (anchor: number) => {
    let l = numPerLevel.length - 1;
    while (levelStart[l]! > anchor) l--;
    return l;
  };
  const masks = numPerLevel.map((n) => new Float32Array(batch * n * numClasses));
  bagMax = bagMax.map((k) => bagClass[k]!);
  for (const flat of bagMax) {
    const c = flat % numClasses;
    const prior = (flat - c) / numClasses;
    const i = Math.floor(prior / m);
    const j = prior % m;
    const l = levelOf(j);
    masks[l]![(i * numPerLevel[l]! + j - levelStart[l]!) * numClasses + c] = 1;
  }
  const weightMask = new Float32Array(batch * m).fill(1);
  for (const p of ignored) weightMask[p] = 0;

  // Per level, batch flattened into priors ([N * n_l, C], (image, prior) order), as the other adapters.
  const levelSlice = (x: tf.Tensor3D, l: number, k: number) => tf.reshape(tf.slice(x, [0, levelStart[l]!, 0], [batch, numPerLevel[l]!, k]), [-1, k]);
  const levelLogits = numPerLevel.map((_, l) => levelSlice(logits, l, numClasses));
  let levels: LevelStats[];
  {
    const positives = masks.map((mask, l) => tf.tensor2d(mask, [batch * numPerLevel[l]!, numClasses]));
    try {
      levels = focus.levelFocus(levelLogits.map((z, l) => ({ logits: z, positives: positives[l]! })));
    } finally {
      tf.dispose(positives);
    }
  }

  // --- negative bag loss, level by level with that level's gamma_l, alpha_l ---
  const allBoxProb = concatLevels(boxProb);
  // log b, with b = 0 mapped to a finite -1e4 so that softplus(z + log b) is 0 with a 0 gradient.
  const logBoxProb = allBoxProb.map((b) => (b > 0 ? Math.log(b) : -1e4));
  const negativeLoss = tf.tidy(() => {
    const b = tf.tensor3d(allBoxProb, [batch, m, numClasses]);
    const logB = tf.tensor3d(logBoxProb, [batch, m, numClasses]);
    const allWeights = tf.tensor3d(weightMask, [batch, m, 1]);
    const sums = levelLogits.map((z, l) => {
      const { gamma, alpha } = levels[l]!;
      const q = tf.clipByValue(tf.mul(tf.sigmoid(z), tf.sub(1, levelSlice(b, l, numClasses))), 1e-12, 1);
      // -log(1 - q) in the logit domain: 1 - q = (1 + e^z b) / (1 + e^z), so
      // -log(1 - q) = softplus(z) - softplus(z + log b). Finite value and gradient where q rounds to 1
      // in float32 (torch's BCE there is its clamp, 100, with a 1e12 gradient).
      const nll = tf.sub(tf.softplus(z), tf.softplus(tf.add(z, levelSlice(logB, l, numClasses))));
      const elementwise = tf.mul(tf.mul(tf.pow(q, gamma), nll), 1 - (alpha ?? 0));
      return tf.sum(tf.mul(elementwise, levelSlice(allWeights, l, 1)));
    });
    return tf.div(tf.addN(sums), Math.max(1, numBag)) as tf.Scalar;
  });
  tf.dispose([...levelLogits, logits, deltas]);

  const avgFactor = Math.max(1, numObjects);
  return {
    losses: { positive_bag_loss: positiveLoss, negative_bag_loss: negativeLoss },
    total: tf.add(positiveLoss, negativeLoss) as tf.Scalar,
    stats: { levels, numPositives: numObjects, avgFactor },
  };
}
