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
 * Ignored detections add neither a true nor a false positive but keep their place in the
 * cumulative curves, exactly as the reference does. Precision is made non-increasing from the
 * right, then read at the first point whose recall reaches each recall threshold
 * (searchsorted 'left'); thresholds beyond the last recall reached get precision 0.
 */
export function accumulateCategory(
  outcome: CategoryOutcome,
  layout: Layout,
  recThrs: Float64Array,
  maxDets: readonly number[],
  precision: Float64Array,
  recall: Float64Array,
  scratch: { rc: Float64Array; pr: Float64Array },
): void {
  const { k, count, rank, flags, npig } = outcome;
  const { T, R, K, A, M } = layout;
  const { rc, pr } = scratch;
  for (let a = 0; a < A; a++) {
    const positives = npig[a]!;
    if (positives === 0) continue;
    for (let m = 0; m < M; m++) {
      const maxDet = maxDets[m]!;
      for (let t = 0; t < T; t++) {
        const base = (a * T + t) * count;
        let tp = 0;
        let fp = 0;
        let nd = 0;
        for (let s = 0; s < count; s++) {
          if (rank[s]! >= maxDet) continue;
          const f = flags[base + s]!;
          if ((f & IGNORED) === 0) {
            if ((f & MATCHED) !== 0) tp++;
            else fp++;
          }
          rc[nd] = tp / positives;
          pr[nd] = tp / (fp + tp + EPS);
          nd++;
        }
        recall[((t * K + k) * A + a) * M + m] = nd > 0 ? rc[nd - 1]! : 0;
        for (let s = nd - 1; s > 0; s--) {
          if (pr[s]! > pr[s - 1]!) pr[s - 1] = pr[s]!;
        }
        let s = 0;
        for (let r = 0; r < R; r++) {
          const thr = recThrs[r]!;
          while (s < nd && rc[s]! < thr) s++;
          precision[(((t * R + r) * K + k) * A + a) * M + m] = s < nd ? pr[s]! : 0;
        }
      }
    }
  }
}
