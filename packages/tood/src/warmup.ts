import { atssAssign, centernessFromDistances, ignoreCentersInBoxes, priorCenters, type DetectorTarget } from '@hpf/fpn';

/**
 * TOOD's warm-up targets of one image: ATSS assignment (@hpf/fpn `atssAssign`) with the gt box and
 * the centerness of the anchor centre (the box-loss weight), crowd-centre anchors ignored.
 */
export function atssWarmupTargets(
  anchors: Float32Array,
  numPerLevel: readonly number[],
  target: DetectorTarget,
  options: { numClasses: number; topk: number },
): { labels: Int32Array; boxTargets: Float32Array; centerness: Float32Array } {
  const { numClasses, topk } = options;
  const a = atssAssign({ priors: anchors, gtBoxes: target.boxes, gtLabels: target.labels }, { numClasses, numPerLevel, topk });
  const n = anchors.length / 4;
  const centers = priorCenters(anchors, 4);
  const boxTargets = new Float32Array(4 * n);
  const centerness = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const g = a.gtIndex[i]!;
    if (g < 0) continue;
    const box = target.boxes.subarray(4 * g, 4 * g + 4);
    boxTargets.set(box, 4 * i);
    const x = centers[2 * i]!;
    const y = centers[2 * i + 1]!;
    centerness[i] = centernessFromDistances(x - box[0]!, y - box[1]!, box[2]! - x, box[3]! - y);
  }
  ignoreCentersInBoxes(a.labels, centers, target.ignoreBoxes, numClasses);
  return { labels: a.labels, boxTargets, centerness };
}
