import { atssAssign, centernessFromDistances, ignoreCentersInBoxes, priorCenters, type DetectorTarget } from '@hpf/fpn';

/** One image's per-prior training targets (all levels concatenated, level order). */
export interface AtssImageTargets {
  /** Class for positives, numClasses for background, -1 ignored. */
  labels: Int32Array;
  /** The assigned gt box (x1, y1, x2, y2) of each positive; zeros elsewhere. */
  boxTargets: Float32Array;
  /** Centerness of each positive's anchor centre inside its gt box; 0 elsewhere. */
  centerness: Float32Array;
  numPositive: number;
}

export interface AtssAssignerOptions {
  numClasses: number;
  /** Candidates per level and gt (ATSS paper: 9). */
  topk: number;
}

/**
 * ATSS sample selection for one image (@hpf/fpn `atssAssign`: the top-k anchors per level nearest the
 * gt centre, IoU threshold mean + std of the candidates, centre inside the gt), plus the targets the
 * ATSS head trains on: the gt box and the centerness of the anchor centre. Anchors whose centre lies
 * in a crowd box (`ignoreBoxes`) and that are not positive are ignored. Plain arrays, no gradient.
 */
export function atssTargets(
  anchors: Float32Array,
  numPerLevel: readonly number[],
  target: DetectorTarget,
  options: AtssAssignerOptions,
): AtssImageTargets {
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
