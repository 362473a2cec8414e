import { IGNORED, MATCHED } from './match.js';

/** numpy's np.spacing(1): keeps precision finite when nothing is counted yet. */
const EPS = 2 ** -52;

export interface CategoryOutcome {
  /** Category index k. */
  k: number;
  /** Number of detections kept for the category (top maxDets[-1] per image), over all images. */
  count: number;
  /** Rank of each detection within its image, indexed by position in the category's score order. */
  rank: Int32Array;
  /** MATCHED / IGNORED bits at [(a * T + t) * count + position]. */
  flags: Uint8Array;
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
 * drops to counting.
 */
export function accumulateCategory(
  outcome: CategoryOutcome,
  layout: Layout,
  recThrs: Float64Array,
  maxDets: readonly number[],
  precision: Float64Array,
  recall: Float64Array,
  scratch: { tpRecall: Float64Array; tpPrecision: Float64Array },
): void {
  const { k, count, rank, flags, npig } = outcome;
  const { T, R, K, A, M } = layout;
  const { tpRecall, tpPrecision } = scratch;
  // Positions (in score order) kept by each maxDets value; the largest keeps them all.
  const keptBy = maxDets.map((maxDet, m) => {
    if (m === M - 1) return null;
    let n = 0;
    for (let s = 0; s < count; s++) if (rank[s]! < maxDet) n++;
    const list = new Int32Array(n);
    n = 0;
    for (let s = 0; s < count; s++) if (rank[s]! < maxDet) list[n++] = s;
    return list;
  });
  for (let a = 0; a < A; a++) {
    const positives = npig[a]!;
    if (positives === 0) continue;
    for (let m = 0; m < M; m++) {
      const kept = keptBy[m] ?? null;
      const nd = kept === null ? count : kept.length;
      for (let t = 0; t < T; t++) {
        const base = (a * T + t) * count;
        let tp = 0;
        let fp = 0;
        let hits = 0;
        for (let n = 0; n < nd; n++) {
          // The largest maxDets keeps every position; smaller ones go through their list.
          const f = flags[base + (kept === null ? n : kept[n]!)]!;
          if ((f & IGNORED) !== 0) continue;
          if ((f & MATCHED) === 0) {
            fp++;
            continue;
          }
          tp++;
          tpRecall[hits] = tp / positives;
          tpPrecision[hits] = tp / (fp + tp + EPS);
          hits++;
        }
        recall[((t * K + k) * A + a) * M + m] = nd > 0 ? tp / positives : 0;
        // Envelope from the right over the true positives only (see above).
        for (let h = hits - 1; h > 0; h--) {
          if (tpPrecision[h]! > tpPrecision[h - 1]!) tpPrecision[h - 1] = tpPrecision[h]!;
        }
        let h = 0;
        for (let r = 0; r < R; r++) {
          const thr = recThrs[r]!;
          while (h < hits && tpRecall[h]! < thr) h++;
          precision[(((t * R + r) * K + k) * A + a) * M + m] = h < hits ? tpPrecision[h]! : 0;
        }
      }
    }
  }
}
