import { ignoreCentersInBoxes, type DetectorTarget, type SizeHW } from '@hpf/dense';

/** One image's per-point training targets (all levels concatenated, level order). */
export interface FoveaImageTargets {
  /** Class for positives, numClasses for background, -1 ignored. */
  labels: Int32Array;
  /**
   * log of the clamped, base-edge-normalised distances (px - x1, py - y1, x2 - px, y2 - py) / base
   * of each positive; 0 (= log 1, mmdetection's fill) elsewhere.
   */
  boxTargets: Float32Array;
  numPositive: number;
}

export interface FoveaAssignerOptions {
  numClasses: number;
  /** Stride of each level. */
  strides: readonly number[];
  /** Base edge of each level: the distances are divided by it before the log. */
  baseEdges: readonly number[];
  /** [lower, upper] of sqrt(gt area) each level takes (inclusive, overlapping). */
  scaleRanges: ReadonlyArray<readonly [number, number]>;
  /** Half-width of the fovea (positive) area as a fraction of the gt's half-width. */
  sigma: number;
}

// mmdetection clamps the normalised distances to [1/16, 16] before the log.
const MIN_DISTANCE = 1 / 16;
const MAX_DISTANCE = 16;

/**
 * FoveaBox targets for one image (mmdetection FoveaHead._get_target_single). On each level:
 * 1. the gts whose sqrt(area) lies in the level's scale range, largest first (smaller gts overwrite
 *    larger ones where fovea areas overlap);
 * 2. a gt's fovea: the cells whose centre ((col + 0.5) stride, (row + 0.5) stride) lies in the
 *    gt box shrunk about its centre by `sigma` (cells ceil(x1 / s + (1 - sigma) w / 2 - 0.5) ..
 *    floor(x1 / s + (1 + sigma) w / 2 - 0.5), w in stride units, clamped to the map);
 * 3. there, the label and log(clamp((px - x1) / base, 1/16, 16)) etc. as box target.
 * Non-positive points whose centre lies in a crowd box are ignored. Plain arrays, no gradient.
 *
 * @param points flat (x, y) of every level's points, level order, row-major; `featureSizes` gives the maps.
 */
export function foveaTargets(points: Float32Array, featureSizes: readonly SizeHW[], target: DetectorTarget, options: FoveaAssignerOptions): FoveaImageTargets {
  const { numClasses, strides, baseEdges, scaleRanges, sigma } = options;
  const total = featureSizes.reduce((s, [h, w]) => s + h * w, 0);
  if (points.length !== 2 * total) throw new Error(`foveaTargets: ${points.length / 2} points for feature sizes totalling ${total}`);
  if ([strides, baseEdges, scaleRanges].some((a) => a.length !== featureSizes.length)) {
    throw new Error(`foveaTargets: strides, baseEdges and scaleRanges need one entry per level (${featureSizes.length})`);
  }
  const labels = new Int32Array(total).fill(numClasses);
  const boxTargets = new Float32Array(4 * total);
  const numGts = target.labels.length;
  const box = (g: number) => [target.boxes[4 * g]!, target.boxes[4 * g + 1]!, target.boxes[4 * g + 2]!, target.boxes[4 * g + 3]!] as const;
  const scale = (g: number) => {
    const [x1, y1, x2, y2] = box(g);
    return Math.sqrt((x2 - x1) * (y2 - y1));
  };
  let start = 0;
  featureSizes.forEach(([h, w], l) => {
    const s = strides[l]!;
    const base = baseEdges[l]!;
    const [lower, upper] = scaleRanges[l]!;
    const hits = Array.from({ length: numGts }, (_, g) => g).filter((g) => scale(g) >= lower && scale(g) <= upper);
    // Largest first; a stable sort keeps annotation order between equal areas.
    hits.sort((a, b) => scale(b) - scale(a));
    for (const g of hits) {
      const [x1, y1, x2, y2] = box(g);
      const halfW = (0.5 * (x2 - x1)) / s;
      const halfH = (0.5 * (y2 - y1)) / s;
      const clampTo = (v: number, n: number) => Math.min(Math.max(v, 0), n - 1);
      const left = clampTo(Math.ceil(x1 / s + (1 - sigma) * halfW - 0.5), w);
      const right = clampTo(Math.floor(x1 / s + (1 + sigma) * halfW - 0.5), w);
      const top = clampTo(Math.ceil(y1 / s + (1 - sigma) * halfH - 0.5), h);
      const bottom = clampTo(Math.floor(y1 / s + (1 + sigma) * halfH - 0.5), h);
      for (let row = top; row <= bottom; row++) {
        for (let col = left; col <= right; col++) {
          const i = start + row * w + col;
          labels[i] = target.labels[g]!;
          const px = points[2 * i]!;
          const py = points[2 * i + 1]!;
          const encode = (d: number) => Math.log(Math.min(Math.max(d / base, MIN_DISTANCE), MAX_DISTANCE));
          boxTargets.set([encode(px - x1), encode(py - y1), encode(x2 - px), encode(y2 - py)], 4 * i);
        }
      }
    }
    start += h * w;
  });
  let numPositive = 0;
  labels.forEach((label) => {
    if (label < numClasses) numPositive++;
  });
  ignoreCentersInBoxes(labels, points, target.ignoreBoxes, numClasses);
  return { labels, boxTargets, numPositive };
}
