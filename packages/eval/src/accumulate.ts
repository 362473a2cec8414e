import { allIgnored, ignoredBit, matchedBit } from './match.js';

/** numpy's np.spacing(1): keeps precision finite when nothing is counted yet. */
const EPS = 2 ** -52;

export interface CategoryOutcome {
  /** Category index k. */
  k: number;
  /** Number of detections kept for the category (top maxDets[-1] per image), over all images. */
  count: number;
  /** Rank of each detection within its image, indexed by position in the category's score order. */
  rank: Int32Array;
  /** Outcome words (see match.ts) at [a * count + position]. */
  words: Uint32Array;
  /** Non-ignored ground truth per area range. */
  npig: Float64Array;
}

export interface Layout {
  T: number;
  R: number;
  K: number;
  A: number;
  M: number;
}

export interface AccumulateScratch {
  /** Recall and precision at the true positives, T rows of `stride` entries. */
  tpRecall: Float64Array;
  tpPrecision: Float64Array;
  stride: number;
  tp: Int32Array;
  fp: Int32Array;
}

/**
 * pycocotools' accumulate() for one category. Detections are visited in descending score order
 * (ties: images in id order, then per-image order), those past maxDet in their image skipped.
 * pycocotools builds recall rc = tp/npig and precision pr = tp/(tp+fp+eps) at every detection,
 * makes pr non-increasing from the right, and reads it at the first detection whose recall reaches
 * each recall threshold (searchsorted 'left'), 0 past the last recall reached.
 *
 * Only the true positives are needed to get the same numbers: recall rises only at a true
 * positive, so the first detection reaching a threshold > 0 is a true positive (and for the
 * threshold 0 the envelope at the first detection equals the envelope at the first true
 * positive, or 0 without any); and after a true positive, false positives only lower pr and
 * ignored detections repeat it, so the right-to-left maximum at a true positive is the maximum
 * over the true positives from there on. Each true positive's rc and pr use the same counts and
 * operations as the reference, so the results are bit-identical while the per-detection work
 * drops to counting (one word per detection covers all thresholds).
 */
export function accumulateCategory(
  outcome: CategoryOutcome,
  layout: Layout,
  recThrs: Float64Array,
  maxDets: readonly number[],
  precision: Float64Array,
  recall: Float64Array,
  scratch: AccumulateScratch,
): void {
  const { k, count, rank, words, npig } = outcome;
  const { T, R, K, A, M } = layout;
  const { tpRecall, tpPrecision, stride, tp, fp } = scratch;
  const ignoredEverywhere = allIgnored(T);
  for (let a = 0; a < A; a++) {
    const positives = npig[a]!;
    if (positives === 0) continue;
    const base = a * count;
    for (let m = 0; m < M; m++) {
      const maxDet = maxDets[m]!;
      tp.fill(0);
      fp.fill(0);
      // False positives at every threshold (word 0) are counted once for all.
      let fpEverywhere = 0;
      let nd = 0;
      for (let s = 0; s < count; s++) {
        if (rank[s]! >= maxDet) continue;
        nd++;
        const w = words[base + s]!;
        if (w === 0) {
          fpEverywhere++;
          continue;
        }
        if (w === ignoredEverywhere) continue;
        for (let t = 0; t < T; t++) {
          if ((w & ignoredBit(t)) !== 0) continue;
          if ((w & matchedBit(t)) === 0) {
            fp[t]!++;
            continue;
          }
          const hits = tp[t]!;
          const tpNow = hits + 1;
          const fpNow = fp[t]! + fpEverywhere;
          tp[t] = tpNow;
          tpRecall[t * stride + hits] = tpNow / positives;
          tpPrecision[t * stride + hits] = tpNow / (fpNow + tpNow + EPS);
        }
      }
      for (let t = 0; t < T; t++) {
        const hits = tp[t]!;
        const row = t * stride;
        recall[((t * K + k) * A + a) * M + m] = nd > 0 ? hits / positives : 0;
        // Envelope from the right over the true positives only (see above).
        for (let h = hits - 1; h > 0; h--) {
          if (tpPrecision[row + h]! > tpPrecision[row + h - 1]!) tpPrecision[row + h - 1] = tpPrecision[row + h]!;
        }
        let h = 0;
        for (let r = 0; r < R; r++) {
          const thr = recThrs[r]!;
          while (h < hits && tpRecall[row + h]! < thr) h++;
          precision[(((t * R + r) * K + k) * A + a) * M + m] = h < hits ? tpPrecision[row + h]! : 0;
        }
      }
    }
  }
}
