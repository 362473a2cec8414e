/** COCO JSON shapes accepted by {@link evaluateCoco}. Extra fields are allowed and ignored. */

export interface CocoImage {
  id: number;
}

export interface CocoCategory {
  id: number;
  name?: string;
}

/** A ground-truth box. `area` is the annotation's own area (for boxes from masks it is the mask area). */
export interface CocoAnnotation {
  id: number;
  image_id: number;
  category_id: number;
  /** [x, y, width, height] in pixels. */
  bbox: readonly number[];
  area: number;
  /** 1 (or true) marks a crowd region: it can absorb many detections and never counts as a miss. */
  iscrowd: number | boolean;
}

export interface CocoDataset {
  images: readonly CocoImage[];
  annotations: readonly CocoAnnotation[];
  categories: readonly CocoCategory[];
}

/** One detection in the COCO results format. */
export interface CocoDetection {
  image_id: number;
  category_id: number;
  /** [x, y, width, height] in pixels. */
  bbox: readonly number[];
  score: number;
}

export interface EvaluateOptions {
  /**
   * Detections kept per image and category, ascending; pycocotools' `maxDets`, default [1, 10, 100].
   * As in pycocotools, the AP lines of the summary read the column whose value is 100 (so they are -1
   * when 100 is not among them) and the AR lines read maxDets[0], [1], [2].
   */
  maxDets?: readonly [number, number, number];
}

/** The 12 numbers of pycocotools' `summarize()` for boxes, in its order. -1 means undefined. */
export interface CocoStats {
  AP: number;
  AP50: number;
  AP75: number;
  APs: number;
  APm: number;
  APl: number;
  AR1: number;
  AR10: number;
  AR100: number;
  ARs: number;
  ARm: number;
  ARl: number;
}

export interface CategoryResult {
  categoryId: number;
  name: string | undefined;
  /** The 12 summary numbers restricted to this category (-1 where it has no ground truth). */
  stats: CocoStats;
}

export interface CocoEvalParams {
  /** IoU thresholds, bit-identical to numpy.linspace(.5, .95, 10). */
  iouThrs: Float64Array;
  /** Recall thresholds, bit-identical to numpy.linspace(0, 1, 101). */
  recThrs: Float64Array;
  /** [lo, hi] area ranges (inclusive) for all, small, medium, large. */
  areaRanges: readonly (readonly [number, number])[];
  areaLabels: readonly string[];
  maxDets: readonly number[];
  /** Image ids in evaluation order (ascending). */
  imageIds: readonly number[];
  /** Category ids in evaluation order (ascending); index k of the arrays below. */
  categoryIds: readonly number[];
}

export interface CocoEvalResult {
  stats: CocoStats;
  perCategory: CategoryResult[];
  params: CocoEvalParams;
  /** [T, R, K, A, M]: thresholds, recall points, categories, area ranges, maxDets. */
  counts: readonly [number, number, number, number, number];
  /**
   * Interpolated precision, row-major [T, R, K, A, M] like pycocotools' `eval['precision']`:
   * element (t, r, k, a, m) is at (((t * R + r) * K + k) * A + a) * M + m. -1 where undefined.
   */
  precision: Float64Array;
  /** Maximum recall, row-major [T, K, A, M] like pycocotools' `eval['recall']`. -1 where undefined. */
  recall: Float64Array;
}
