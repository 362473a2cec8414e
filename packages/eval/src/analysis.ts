/**
 * What a detection engineer reads beside the 12 summary numbers: per-class AP rows, each class's
 * precision-recall curve at one IoU threshold (read from the accumulated precision, so it is the
 * curve whose mean is the AP), and a confusion matrix with a background row and column.
 */
import type { CocoDataset, CocoDetection, CocoEvalResult } from './types.js';

export interface ClassApRow {
  categoryId: number;
  name: string;
  /** AP over IoU 0.50:0.95 and AP at IoU 0.50 and 0.75 (area all, 100 detections); -1 without ground truth. */
  AP: number;
  AP50: number;
  AP75: number;
  /** Non-crowd ground-truth boxes and detections of the class. */
  groundTruth: number;
  detections: number;
}

/** One row per category, ascending id, with the counts that explain an AP of -1 or 0. */
export function perClassAp(dataset: CocoDataset, detections: readonly CocoDetection[], result: CocoEvalResult): ClassApRow[] {
  const gt = new Map<number, number>();
  for (const a of dataset.annotations) if (!(a.iscrowd === 1 || a.iscrowd === true)) gt.set(a.category_id, (gt.get(a.category_id) ?? 0) + 1);
  const dt = new Map<number, number>();
  for (const d of detections) dt.set(d.category_id, (dt.get(d.category_id) ?? 0) + 1);
  return result.perCategory.map((c) => ({
    categoryId: c.categoryId,
    name: c.name ?? String(c.categoryId),
    AP: c.stats.AP,
    AP50: c.stats.AP50,
    AP75: c.stats.AP75,
    groundTruth: gt.get(c.categoryId) ?? 0,
    detections: dt.get(c.categoryId) ?? 0,
  }));
}

export interface PrCurve {
  categoryId: number;
  name: string;
  /** The 101 recall thresholds 0, 0.01, ..., 1. */
  recall: number[];
  /** Interpolated precision at each recall threshold (0 past the highest recall reached). */
  precision: number[];
  /** Mean of `precision`: the class's AP at this IoU. */
  ap: number;
}

/**
 * Each category's interpolated precision-recall curve at `iouThreshold` (one of the evaluated
 * thresholds, default 0.5), area 'all', the largest maxDets. Categories without ground truth have
 * no curve and are left out.
 */
export function precisionRecallCurves(result: CocoEvalResult, iouThreshold = 0.5): PrCurve[] {
  const [, R, K, A, M] = result.counts;
  const t = result.params.iouThrs.findIndex((v) => Math.abs(v - iouThreshold) < 1e-9);
  if (t < 0) throw new Error(`precisionRecallCurves: IoU threshold ${iouThreshold} was not evaluated (thresholds: ${Array.from(result.params.iouThrs).join(', ')})`);
  const curves: PrCurve[] = [];
  for (let k = 0; k < K; k++) {
    const precision = Array.from({ length: R }, (_, r) => result.precision[(((t * R + r) * K + k) * A + 0) * M + (M - 1)]!);
    if (precision[0] === -1) continue;
    const c = result.perCategory[k]!;
    curves.push({
      categoryId: c.categoryId,
      name: c.name ?? String(c.categoryId),
      recall: Array.from(result.params.recThrs),
      precision,
      ap: precision.reduce((s, p) => s + p, 0) / R,
    });
  }
  return curves;
}

export interface ConfusionMatrixOptions {
  /** A detection and a ground-truth box pair when their IoU is at least this (default 0.5). */
  iouThreshold?: number;
  /** Detections below this score are not counted (default 0.25). */
  scoreThreshold?: number;
}

export interface ConfusionMatrix {
  /** Category ids in ascending order; index K (= categoryIds.length) is background. */
  categoryIds: number[];
  names: string[];
  /**
   * counts[predicted][true], (K + 1) x (K + 1). Row K: ground truth nothing detected (missed);
   * column K: detections that match no ground truth (false positives on background).
   */
  counts: number[][];
  iouThreshold: number;
  scoreThreshold: number;
}

/**
 * Class-agnostic matching per image: every (detection, ground truth) pair with IoU >= the
 * threshold, taken in descending IoU (ties: higher score first, then input order), each box used
 * once. A matched pair counts at [detected class][true class]; an unmatched ground truth at
 * [background][true class]; an unmatched detection at [detected class][background], except one
 * lying in a crowd region (intersection over its own area >= the threshold), which is not counted,
 * as COCO does not count it as a false positive either.
 */
export function confusionMatrix(dataset: CocoDataset, detections: readonly CocoDetection[], options: ConfusionMatrixOptions = {}): ConfusionMatrix {
  const iouThreshold = options.iouThreshold ?? 0.5;
  const scoreThreshold = options.scoreThreshold ?? 0.25;
  if (!(iouThreshold > 0 && iouThreshold <= 1)) throw new Error(`confusionMatrix: iouThreshold must be in (0, 1], got ${iouThreshold}`);
  if (!(scoreThreshold >= 0 && scoreThreshold <= 1)) throw new Error(`confusionMatrix: scoreThreshold must be in [0, 1], got ${scoreThreshold}`);
  const categories = [...dataset.categories].sort((a, b) => a.id - b.id);
  const index = new Map(categories.map((c, i) => [c.id, i]));
  const K = categories.length;
  const counts = Array.from({ length: K + 1 }, () => new Array<number>(K + 1).fill(0));
  const gtByImage = new Map<number, { box: readonly number[]; k: number; crowd: boolean }[]>();
  for (const a of dataset.annotations) {
    const k = index.get(a.category_id);
    if (k === undefined) throw new Error(`confusionMatrix: annotation ${a.id} has unknown category_id ${a.category_id}`);
    const list = gtByImage.get(a.image_id) ?? [];
    list.push({ box: a.bbox, k, crowd: a.iscrowd === 1 || a.iscrowd === true });
    gtByImage.set(a.image_id, list);
  }
  const dtByImage = new Map<number, { box: readonly number[]; k: number; score: number }[]>();
  for (const d of detections) {
    const k = index.get(d.category_id);
    if (k === undefined) throw new Error(`confusionMatrix: a detection on image ${d.image_id} has unknown category_id ${d.category_id}`);
    if (d.score < scoreThreshold) continue;
    const list = dtByImage.get(d.image_id) ?? [];
    list.push({ box: d.bbox, k, score: d.score });
    dtByImage.set(d.image_id, list);
  }
  for (const image of dataset.images) {
    const all = gtByImage.get(image.id) ?? [];
    const gts = all.filter((g) => !g.crowd);
    const crowds = all.filter((g) => g.crowd);
    const dts = dtByImage.get(image.id) ?? [];
    const pairs: { d: number; g: number; iou: number }[] = [];
    dts.forEach((d, di) => gts.forEach((g, gi) => {
      const iou = overlap(d.box, g.box, false);
      if (iou >= iouThreshold) pairs.push({ d: di, g: gi, iou });
    }));
    pairs.sort((a, b) => b.iou - a.iou || dts[b.d]!.score - dts[a.d]!.score || a.d - b.d || a.g - b.g);
    const dtUsed = new Array<boolean>(dts.length).fill(false);
    const gtUsed = new Array<boolean>(gts.length).fill(false);
    for (const p of pairs) {
      if (dtUsed[p.d] || gtUsed[p.g]) continue;
      dtUsed[p.d] = true;
      gtUsed[p.g] = true;
      counts[dts[p.d]!.k]![gts[p.g]!.k]!++;
    }
    gts.forEach((g, gi) => {
      if (!gtUsed[gi]) counts[K]![g.k]!++;
    });
    dts.forEach((d, di) => {
      if (dtUsed[di]) return;
      if (crowds.some((c) => overlap(d.box, c.box, true) >= iouThreshold)) return;
      counts[d.k]![K]!++;
    });
  }
  return {
    categoryIds: categories.map((c) => c.id),
    names: categories.map((c) => c.name ?? String(c.id)),
    counts,
    iouThreshold,
    scoreThreshold,
  };
}

/** Each column divided by its sum (what each true class, and background, was detected as); 0 for an empty column. */
export function normaliseColumns(counts: readonly (readonly number[])[]): number[][] {
  const n = counts.length;
  const sums = Array.from({ length: n }, (_, j) => counts.reduce((s, row) => s + row[j]!, 0));
  return counts.map((row) => row.map((v, j) => (sums[j]! > 0 ? v / sums[j]! : 0)));
}

/** IoU of two [x, y, w, h] boxes, or intersection over the first box's area when `overFirst`. */
function overlap(a: readonly number[], b: readonly number[], overFirst: boolean): number {
  const w = Math.min(a[0]! + a[2]!, b[0]! + b[2]!) - Math.max(a[0]!, b[0]!);
  const h = Math.min(a[1]! + a[3]!, b[1]! + b[3]!) - Math.max(a[1]!, b[1]!);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  const areaA = a[2]! * a[3]!;
  return inter / (overFirst ? areaA : areaA + b[2]! * b[3]! - inter);
}
