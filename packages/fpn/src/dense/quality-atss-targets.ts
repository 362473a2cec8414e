import { atssAssign } from '../boxes/assign-atss.js';
import { ignoreCentersInBoxes, priorCenters } from './targets.js';
import type { DetectorTarget } from './types.js';

/** One image's ATSS assignment with the gt box of each positive (all levels, level order). */
export interface AtssBoxTargets {
  /** Class for positives, numClasses for background, -1 ignored. */
  labels: Int32Array;
  /** The assigned gt box (x1, y1, x2, y2) of each positive; zeros elsewhere. */
  boxTargets: Float32Array;
  numPositive: number;
}

export interface AtssBoxTargetOptions {
  numClasses: number;
  /** ATSS candidates per level and gt (published 9). */
  topk: number;
}

/**
 * The targets of the heads that assign with ATSS and regress decoded boxes whose IoU then becomes
 * the classification target (GFL, VFNet): `atssAssign` on the anchors, the gt box of every
 * positive, and crowd boxes (`ignoreBoxes`) ignoring the non-positive anchors whose centre lies in
 * them. Plain arrays, no gradient.
 */
export function atssBoxTargets(anchors: Float32Array, numPerLevel: readonly number[], target: DetectorTarget, options: AtssBoxTargetOptions): AtssBoxTargets {
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
