import { boxIoUArray, ignoreCentersInBoxes, priorCenters, type DetectorTarget } from '@hpf/dense';

export interface TaskAlignedOptions {
  numClasses: number;
  /** Candidates per gt by alignment metric. Published 13. */
  topk: number;
  /** Exponent of the classification score in the metric. Published 1. */
  alpha: number;
  /** Exponent of the IoU in the metric. Published 6. */
  beta: number;
}

/** One image's TOOD targets (all levels concatenated): assignment, box and classification targets. */
export interface TaskAlignedTargets {
  /** Class for positives, numClasses for background, -1 ignored. */
  labels: Int32Array;
  /** Assigned gt per anchor, -1 elsewhere. */
  gtIndex: Int32Array;
  /** The assigned gt box of each positive; zeros elsewhere. */
  boxTargets: Float32Array;
  /**
   * Normalised alignment target of each positive: t / max_t(gt) * max IoU(gt), with t = s^alpha u^beta,
   * the maxima over the gt's positives; 0 elsewhere. The QFL score target and the box-loss weight.
   */
  alignTargets: Float32Array;
  numPositive: number;
}

/**
 * Task alignment learning's assignment of one image (Feng et al., ICCV 2021; mmdetection
 * TaskAlignedAssigner + TOODHead._get_target_single), on plain arrays (no gradient):
 * 1. t_ij = s_ij^alpha * u_ij^beta, s the predicted score of gt j's class at anchor i, u the IoU of
 *    anchor i's predicted box with gt j;
 * 2. per gt, the `topk` anchors with the largest t (ties to the lower index) are candidates; a
 *    candidate is positive when t > 0 and its anchor centre lies inside the gt (margin 0.01);
 * 3. an anchor positive for several gts goes to the one its box overlaps most (first on ties);
 * 4. normalised targets per gt as in `alignTargets`; non-positive anchors whose centre lies in a crowd
 *    box are ignored.
 * `scores` are probabilities [M * C], `predBoxes` pixels [M * 4], `anchors` [M * 4].
 */
export function taskAlignedTargets(
  scores: ArrayLike<number>,
  predBoxes: Float32Array,
  anchors: Float32Array,
  target: DetectorTarget,
  options: TaskAlignedOptions,
): TaskAlignedTargets {
  const { numClasses, topk, alpha, beta } = options;
  const m = anchors.length / 4;
  const g = target.labels.length;
  const labels = new Int32Array(m).fill(numClasses);
  const gtIndex = new Int32Array(m).fill(-1);
  const boxTargets = new Float32Array(4 * m);
  const alignTargets = new Float32Array(m);
  const centers = priorCenters(anchors, 4);
  if (g === 0) {
    ignoreCentersInBoxes(labels, centers, target.ignoreBoxes, numClasses);
    return { labels, gtIndex, boxTargets, alignTargets, numPositive: 0 };
  }
  const iou = boxIoUArray(predBoxes, target.boxes); // [M, G]
  const metric = new Float64Array(m * g);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < g; j++) metric[i * g + j] = scores[i * numClasses + target.labels[j]!]! ** alpha * iou[i * g + j]! ** beta;
  }
  const bestIou = new Float64Array(m).fill(-Infinity);
  const order = Array.from({ length: m }, (_, i) => i);
  const k = Math.min(topk, m);
  for (let j = 0; j < g; j++) {
    order.sort((a, b) => metric[b * g + j]! - metric[a * g + j]! || a - b);
    const [x1, y1, x2, y2] = [target.boxes[4 * j]!, target.boxes[4 * j + 1]!, target.boxes[4 * j + 2]!, target.boxes[4 * j + 3]!];
    for (let r = 0; r < k; r++) {
      const i = order[r]!;
      if (!(metric[i * g + j]! > 0)) continue;
      const cx = centers[2 * i]!;
      const cy = centers[2 * i + 1]!;
      if (Math.min(cx - x1, cy - y1, x2 - cx, y2 - cy) <= 0.01) continue;
      const u = iou[i * g + j]!;
      if (u > bestIou[i]!) {
        bestIou[i] = u;
        gtIndex[i] = j;
      }
    }
    order.sort((a, b) => a - b);
  }
  // per gt: the maxima of t and IoU over its positives
  const maxMetric = new Float64Array(g);
  const maxIou = new Float64Array(g);
  let numPositive = 0;
  for (let i = 0; i < m; i++) {
    const j = gtIndex[i]!;
    if (j < 0) continue;
    numPositive++;
    maxMetric[j] = Math.max(maxMetric[j]!, metric[i * g + j]!);
    maxIou[j] = Math.max(maxIou[j]!, iou[i * g + j]!);
  }
  for (let i = 0; i < m; i++) {
    const j = gtIndex[i]!;
    if (j < 0) continue;
    labels[i] = target.labels[j]!;
    boxTargets.set(target.boxes.subarray(4 * j, 4 * j + 4), 4 * i);
    // mmdetection: t / (max t + 10e-8) * max IoU
    alignTargets[i] = (metric[i * g + j]! / (maxMetric[j]! + 1e-7)) * maxIou[j]!;
  }
  ignoreCentersInBoxes(labels, centers, target.ignoreBoxes, numClasses);
  return { labels, gtIndex, boxTargets, alignTargets, numPositive };
}
