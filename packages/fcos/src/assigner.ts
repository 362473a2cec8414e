import { centernessFromDistances, ignoreCentersInBoxes, type DetectorTarget } from '@hpf/dense';

/** One image's per-point training targets (all levels concatenated, level order). */
export interface FcosImageTargets {
  /** Class for positives, numClasses for background, -1 ignored. */
  labels: Int32Array;
  /** Index of the matched gt for positives, -1 otherwise. */
  gtIndex: Int32Array;
  /** (l, t, r, b) from the point to its gt's sides divided by the level's stride; zeros elsewhere. */
  distances: Float32Array;
  /** Centerness of each positive point inside its gt; 0 elsewhere. */
  centerness: Float32Array;
  numPositive: number;
}

export interface FcosAssignerOptions {
  numClasses: number;
  /** Stride of each level. */
  strides: readonly number[];
  /** Per level (lo, hi): a point takes a gt when lo < max(l, t, r, b) < hi. */
  regressRanges: ReadonlyArray<readonly [number, number]>;
  /** Only points within radius * stride of the gt centre (in x and in y) are candidates. */
  centerSampling: boolean;
  centerSamplingRadius: number;
}

/**
 * FCOS target assignment for one image (torchvision FCOS.compute_loss / mmdetection
 * FCOSHead.get_targets): a point is a candidate for a gt when it lies strictly inside the box, within
 * centerSamplingRadius * stride of the box centre in x and y (centre sampling), and its largest
 * distance to the box's sides is inside the level's regression range; among candidate gts the one
 * with the smallest area wins (the first on ties). Points whose centre lies in a crowd box and that
 * are not positive are ignored. Plain arrays, no gradient.
 *
 * `points` is flat (x, y) per point, levels concatenated; `numPerLevel` says how many per level.
 */
export function fcosTargets(points: Float32Array, numPerLevel: readonly number[], target: DetectorTarget, options: FcosAssignerOptions): FcosImageTargets {
  const { numClasses, strides, regressRanges, centerSampling, centerSamplingRadius } = options;
  if (numPerLevel.length !== strides.length || regressRanges.length !== strides.length) {
    throw new Error(`fcosTargets: ${numPerLevel.length} levels of points but ${strides.length} strides and ${regressRanges.length} regression ranges`);
  }
  const n = points.length / 2;
  const gts = target.boxes;
  const numGts = gts.length / 4;
  const labels = new Int32Array(n).fill(numClasses);
  const gtIndex = new Int32Array(n).fill(-1);
  const distances = new Float32Array(4 * n);
  const centerness = new Float32Array(n);
  let numPositive = 0;
  let i = 0;
  strides.forEach((stride, level) => {
    const [lo, hi] = regressRanges[level]!;
    const radius = centerSamplingRadius * stride;
    for (let end = i + numPerLevel[level]!; i < end; i++) {
      const x = points[2 * i]!;
      const y = points[2 * i + 1]!;
      let best = -1;
      let bestArea = Infinity;
      for (let g = 0; g < numGts; g++) {
        const [x1, y1, x2, y2] = [gts[4 * g]!, gts[4 * g + 1]!, gts[4 * g + 2]!, gts[4 * g + 3]!];
        const l = x - x1;
        const t = y - y1;
        const r = x2 - x;
        const b = y2 - y;
        if (Math.min(l, t, r, b) <= 0) continue;
        if (centerSampling && Math.max(Math.abs(x - (x1 + x2) / 2), Math.abs(y - (y1 + y2) / 2)) >= radius) continue;
        const reach = Math.max(l, t, r, b);
        if (!(reach > lo && reach < hi)) continue;
        const area = (x2 - x1) * (y2 - y1);
        if (area < bestArea) {
          bestArea = area;
          best = g;
        }
      }
      if (best < 0) continue;
      const [x1, y1, x2, y2] = [gts[4 * best]!, gts[4 * best + 1]!, gts[4 * best + 2]!, gts[4 * best + 3]!];
      const [l, t, r, b] = [x - x1, y - y1, x2 - x, y2 - y];
      gtIndex[i] = best;
      labels[i] = target.labels[best]!;
      distances.set([l / stride, t / stride, r / stride, b / stride], 4 * i);
      centerness[i] = centernessFromDistances(l, t, r, b);
      numPositive++;
    }
  });
  ignoreCentersInBoxes(labels, points, target.ignoreBoxes, numClasses);
  return { labels, gtIndex, distances, centerness, numPositive };
}
