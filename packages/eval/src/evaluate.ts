import { accumulateCategory, type AccumulateScratch, type CategoryOutcome, type Layout } from './accumulate.js';
import { buildIndex, type EvalIndex } from './indexing.js';
import { boxIou } from './iou.js';
import { MatchScratch, matchImage, type ImageMatchInput } from './match.js';
import { AREA_LABELS, AREA_RANGES, DEFAULT_MAX_DETS, IOU_THRESHOLDS, RECALL_THRESHOLDS } from './params.js';
import { stableSortDescending } from './sort.js';
import { summarizeStats } from './summarize.js';
import type { CocoDataset, CocoDetection, CocoEvalResult, EvaluateOptions } from './types.js';

const KNOWN_OPTIONS = new Set(['maxDets']);

function validateOptions(options: EvaluateOptions | undefined): readonly number[] {
  if (options === undefined) return [...DEFAULT_MAX_DETS];
  if (typeof options !== 'object' || options === null) throw new Error('evaluateCoco: options must be an object');
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) throw new Error(`evaluateCoco: unknown option '${key}' (known: ${[...KNOWN_OPTIONS].join(', ')})`);
  }
  const maxDets = options.maxDets ?? DEFAULT_MAX_DETS;
  const ok = Array.isArray(maxDets) && maxDets.length === 3 &&
    maxDets.every((v, n) => Number.isInteger(v) && v > 0 && (n === 0 || v > maxDets[n - 1]!));
  if (!ok) throw new Error(`evaluateCoco: option 'maxDets' must be 3 ascending positive integers, got ${JSON.stringify(maxDets)}`);
  return [...maxDets];
}

/** Buffers reused from one category to the next: no large allocation per category. */
class CategoryScratch {
  match = new MatchScratch();
  sorted = new Int32Array(0);
  sortTmp = new Int32Array(0);
  dtArea = new Float64Array(0);
  kept = new Int32Array(0);
  rankOf = new Int32Array(0);
  imageFrom = new Int32Array(0);
  keptScore = new Float64Array(0);
  order = new Int32Array(0);
  position = new Int32Array(0);
  rank = new Int32Array(0);
  words = new Uint32Array(0);
  acc: AccumulateScratch = { tpRecall: new Float64Array(0), tpPrecision: new Float64Array(0), stride: 0, tp: new Int32Array(0), fp: new Int32Array(0) };
  orderTmp = new Int32Array(0);

  ensureAccumulate(numThr: number, numGt: number): void {
    const acc = this.acc;
    if (acc.tp.length !== numThr) {
      acc.tp = new Int32Array(numThr);
      acc.fp = new Int32Array(numThr);
    }
    if (acc.stride < numGt || acc.tpRecall.length < numThr * numGt) {
      acc.stride = Math.max(numGt, 1);
      acc.tpRecall = new Float64Array(numThr * acc.stride);
      acc.tpPrecision = new Float64Array(numThr * acc.stride);
    }
  }

  ensureCategory(count: number, numImages: number, cells: number): void {
    if (this.kept.length < count) {
      const n = Math.max(count, Math.ceil(1.25 * this.kept.length));
      this.kept = new Int32Array(n);
      this.rankOf = new Int32Array(n);
      this.keptScore = new Float64Array(n);
      this.order = new Int32Array(n);
      this.position = new Int32Array(n);
      this.rank = new Int32Array(n);
      this.orderTmp = new Int32Array(n);
    }
    if (this.words.length < cells * count) this.words = new Uint32Array(cells * this.kept.length);
    if (this.imageFrom.length < numImages + 1) this.imageFrom = new Int32Array(numImages + 1);
  }
}

/**
 * Matching for every image of category k, with pycocotools' per-image, per-category cut to the top
 * maxDets[-1] detections by score. Returns the outcome in the category's global score order.
 */
function evaluateCategory(index: EvalIndex, k: number, maxDetLast: number, layout: Layout, scratch: CategoryScratch): CategoryOutcome {
  const { gt, dt } = index;
  const numImages = index.imageIds.length;
  const { A } = layout;

  // Kept detections, concatenated image by image (ascending image id), each image by score.
  let count = 0;
  for (let i = 0; i < numImages; i++) {
    const b = k * numImages + i;
    count += Math.min(dt.start[b + 1]! - dt.start[b]!, maxDetLast);
  }
  scratch.ensureCategory(count, numImages, A);
  const kept = scratch.kept;
  const rankOf = scratch.rankOf;
  const imageFrom = scratch.imageFrom;
  let j = 0;
  for (let i = 0; i < numImages; i++) {
    const b = k * numImages + i;
    imageFrom[i] = j;
    const from = dt.start[b]!;
    const to = dt.start[b + 1]!;
    if (to - from === 0) continue;
    if (scratch.sorted.length < to - from) {
      scratch.sorted = new Int32Array(to - from);
      scratch.sortTmp = new Int32Array(to - from);
    }
    const sorted = scratch.sorted;
    // Descending score, ties in input order (numpy's stable mergesort of -score).
    for (let n = 0; n < to - from; n++) sorted[n] = from + n;
    stableSortDescending(dt.score, sorted, to - from, scratch.sortTmp);
    const keep = Math.min(to - from, maxDetLast);
    for (let r = 0; r < keep; r++) {
      kept[j] = sorted[r]!;
      rankOf[j] = r;
      j++;
    }
  }
  imageFrom[numImages] = j;

  // Global order: descending score, ties by concatenation position (stable mergesort in numpy).
  const keptScore = scratch.keptScore;
  for (let n = 0; n < count; n++) keptScore[n] = dt.score[kept[n]!]!;
  const order = scratch.order;
  for (let n = 0; n < count; n++) order[n] = n;
  stableSortDescending(keptScore, order, count, scratch.orderTmp);
  const position = scratch.position;
  const rank = scratch.rank;
  for (let s = 0; s < count; s++) {
    position[order[s]!] = s;
    rank[s] = rankOf[order[s]!]!;
  }

  const words = scratch.words;
  const npig = new Float64Array(A);
  if (scratch.dtArea.length < maxDetLast) scratch.dtArea = new Float64Array(maxDetLast);
  const input: ImageMatchInput = {
    ious: scratch.match.ious,
    numDt: 0,
    numGt: 0,
    gtArea: gt.area,
    gtCrowd: gt.crowd,
    gtFrom: 0,
    dtArea: scratch.dtArea,
    position,
    positionFrom: 0,
    stride: count,
  };
  for (let i = 0; i < numImages; i++) {
    const b = k * numImages + i;
    const gtFrom = gt.start[b]!;
    const numGt = gt.start[b + 1]! - gtFrom;
    const dtFrom = imageFrom[i]!;
    const numDt = imageFrom[i + 1]! - dtFrom;
    if (numGt === 0 && numDt === 0) continue;
    scratch.match.ensure(numDt, numGt);
    boxIou(dt.box, kept, dtFrom, numDt, gt.box, gtFrom, numGt, gt.crowd, scratch.match.ious);
    for (let d = 0; d < numDt; d++) {
      const p = 4 * kept[dtFrom + d]!;
      scratch.dtArea[d] = dt.box[p + 2]! * dt.box[p + 3]!;
    }
    input.ious = scratch.match.ious;
    input.numDt = numDt;
    input.numGt = numGt;
    input.gtFrom = gtFrom;
    input.positionFrom = dtFrom;
    matchImage(input, AREA_RANGES, IOU_THRESHOLDS, scratch.match, words, npig);
  }
  return { k, count, rank, words, npig };
}

/**
 * COCO box evaluation with the semantics of pycocotools' COCOeval (iouType 'bbox'): evaluate(),
 * accumulate() and summarize() in one call. Every image and category of the dataset takes part,
 * in ascending id order; detections must name known images and categories.
 */
export function evaluateCoco(dataset: CocoDataset, detections: readonly CocoDetection[], options?: EvaluateOptions): CocoEvalResult {
  const maxDets = validateOptions(options);
  const index = buildIndex(dataset, detections);
  const layout: Layout = {
    T: IOU_THRESHOLDS.length,
    R: RECALL_THRESHOLDS.length,
    K: index.categoryIds.length,
    A: AREA_RANGES.length,
    M: maxDets.length,
  };
  const { T, R, K, A, M } = layout;
  const precision = new Float64Array(T * R * K * A * M).fill(-1);
  const recall = new Float64Array(T * K * A * M).fill(-1);
  const maxDetLast = maxDets[M - 1]!;
  const scratch = new CategoryScratch();
  const numImages = index.imageIds.length;
  for (let k = 0; k < K; k++) {
    const outcome = evaluateCategory(index, k, maxDetLast, layout, scratch);
    // True positives per threshold cannot exceed the category's ground truth.
    scratch.ensureAccumulate(T, index.gt.start[(k + 1) * numImages]! - index.gt.start[k * numImages]!);
    accumulateCategory(outcome, layout, RECALL_THRESHOLDS, maxDets, precision, recall, scratch.acc);
  }

  const stats = summarizeStats(precision, recall, layout, IOU_THRESHOLDS, maxDets);
  const perCategory = index.categoryIds.map((categoryId, k) => ({
    categoryId,
    name: index.categoryNames[k],
    stats: summarizeStats(precision, recall, layout, IOU_THRESHOLDS, maxDets, [k]),
  }));
  return {
    stats,
    perCategory,
    params: {
      iouThrs: IOU_THRESHOLDS.slice(),
      recThrs: RECALL_THRESHOLDS.slice(),
      areaRanges: AREA_RANGES,
      areaLabels: AREA_LABELS,
      maxDets,
      imageIds: index.imageIds,
      categoryIds: index.categoryIds,
    },
    counts: [T, R, K, A, M],
    precision,
    recall,
  };
}
