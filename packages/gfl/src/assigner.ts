import { atssAssign, ignoreCentersInBoxes, priorCenters, type DetectorTarget } from '@hpf/fpn';

/** One image's per-prior training targets (all levels concatenated, level order). */
export interface GflImageTargets {
  /** Class for positives, numClasses for background, -1 ignored. */
  labels: Int32Array;
  /** The assigned gt box (x1, y1, x2, y2) of each positive; zeros elsewhere. */
  boxTargets: Float32Array;
  numPositive: number;
}

export interface GflAssignerOptions {
  numClasses: number;
  /** ATSS candidates per level and gt (GFL uses ATSS with topk 9). */
  topk: number;
}

/**
 * GFL's assignment for one image: ATSS (@hpf/fpn `atssAssign`) on the anchors, the gt box of each
 * positive, and crowd boxes (`ignoreBoxes`) ignoring the non-positive anchors whose centre lies in
 * them. The quality (IoU) targets depend on the prediction and are computed in `gflLoss`.
 */
export function gflTargets(anchors: Float32Array, numPerLevel: readonly number[], target: DetectorTarget, options: GflAssignerOptions): GflImageTargets {
  const { numClasses, topk } = options;
  const assignment = atssAssign({ priors: anchors, gtBoxes: target.boxes, gtLabels: target.labels }, { numClasses, numPerLevel, topk });
  const n = anchors.length / 4;
  const boxTargets = new Float32Array(4 * n);
  for (let i = 0; i < n; i++) {
    const g = assignment.gtIndex[i]!;
    if (g >= 0) boxTargets.set(target.boxes.subarray(4 * g, 4 * g + 4), 4 * i);
  }
  const labels = assignment.labels;
  ignoreCentersInBoxes(labels, priorCenters(anchors, 4), target.ignoreBoxes, numClasses);
  return { labels, boxTargets, numPositive: assignment.numPositive };
}
