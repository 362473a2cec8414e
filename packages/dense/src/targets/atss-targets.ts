import { atssAssign } from './assign-atss.js';
import { centernessFromDistances } from './centerness.js';
import { ignoreCentersInBoxes, priorCenters } from './targets.js';
import type { DetectorTarget } from '../detector/types.js';

/** One image's ATSS assignment with the gt box of each positive (all levels, level order). */
export interface AtssBoxTargets {
  /** Class for positives, numClasses for background, -1 ignored. */
  labels: Int32Array;
  /** The assigned gt box (x1, y1, x2, y2) of each positive; zeros elsewhere. */
  boxTargets: Float32Array;
  /** Centerness of each positive's anchor centre inside its gt box; 0 elsewhere. */
  centerness: Float32Array;
  numPositive: number;
}

export interface AtssBoxTargetOptions {
  numClasses: number;
  /** ATSS candidates per level and gt (published 9). */
  topk: number;
}

/**
 * The targets of every head that assigns with ATSS (ATSS, GFL, VFNet, TOOD's warm-up):
 * `atssAssign` on the anchors (the top-k anchors per level nearest the gt centre, IoU threshold
 * mean + std of the candidates, centre inside the gt), the gt box of every positive and the
 * centerness of its anchor centre (ATSS's centerness target and box-loss weight, TOOD's warm-up
 * box-loss weight), and crowd boxes (`ignoreBoxes`) ignoring the non-positive anchors whose centre
 * lies in them. Plain arrays, no gradient.
 */
export function atssBoxTargets(anchors: Float32Array, numPerLevel: readonly number[], target: DetectorTarget, options: AtssBoxTargetOptions): AtssBoxTargets {
  const { numClasses, topk } = options;
  const assignment = atssAssign({ priors: anchors, gtBoxes: target.boxes, gtLabels: target.labels }, { numClasses, numPerLevel, topk });
  const n = anchors.length / 4;
  const centers = priorCenters(anchors, 4);
  const boxTargets = new Float32Array(4 * n);
  const centerness = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const g = assignment.gtIndex[i]!;
    if (g < 0) continue;
    const box = target.boxes.subarray(4 * g, 4 * g + 4);
    boxTargets.set(box, 4 * i);
    const x = centers[2 * i]!;
    const y = centers[2 * i + 1]!;
    centerness[i] = centernessFromDistances(x - box[0]!, y - box[1]!, box[2]! - x, box[3]! - y);
  }
  const labels = assignment.labels;
  ignoreCentersInBoxes(labels, centers, target.ignoreBoxes, numClasses);
  return { labels, boxTargets, centerness, numPositive: assignment.numPositive };
}
