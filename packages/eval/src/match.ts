/** Per-detection outcome bits, one byte per (area range, IoU threshold, detection). */
export const MATCHED = 1;
export const IGNORED = 2;

/** Scratch buffers reused across images so that the matching loop allocates nothing. */
export class MatchScratch {
  ious = new Float64Array(0);
  order = new Int32Array(0);
  ignore = new Uint8Array(0);
  crowd = new Uint8Array(0);
  taken = new Uint8Array(0);
  bestIou = new Float64Array(0);

  ensure(numDt: number, numGt: number): void {
    if (this.bestIou.length < numDt) this.bestIou = new Float64Array(Math.max(numDt, 2 * this.bestIou.length));
    if (this.ious.length < numDt * numGt) this.ious = new Float64Array(Math.max(numDt * numGt, 2 * this.ious.length));
    if (this.order.length < numGt) {
      const n = Math.max(numGt, 2 * this.order.length);
      this.order = new Int32Array(n);
      this.ignore = new Uint8Array(n);
      this.crowd = new Uint8Array(n);
      this.taken = new Uint8Array(n);
    }
  }
}

export interface ImageMatchInput {
  /** [numDt, numGt] IoUs, detections by descending score, ground truth in input order. */
  ious: Float64Array;
  numDt: number;
  numGt: number;
  gtArea: Float64Array;
  gtCrowd: Uint8Array;
  gtFrom: number;
  /** w * h of each (sorted) detection. */
  dtArea: Float64Array;
  dtAreaFrom: number;
  /** Where detection d's flags go: flags[(a * T + t) * stride + position[positionFrom + d]]. */
  position: Int32Array;
  positionFrom: number;
  stride: number;
}

/**
 * pycocotools' evaluateImg for one image and category, for every area range and IoU threshold.
 * Greedy matching in score order: each detection takes the unmatched (or crowd) ground truth with
 * the highest IoU >= the threshold; later ground truth wins ties. Ground truth outside the area
 * range or crowd is "ignored" and sorted last, and a detection that could match a regular box stops
 * there rather than take an ignored one. A detection matched to ignored ground truth is ignored;
 * an unmatched detection whose own area is outside the range is ignored too.
 * Adds each range's count of non-ignored ground truth to `npig`.
 */
export function matchImage(
  input: ImageMatchInput,
  areaRanges: readonly (readonly [number, number])[],
  iouThrs: Float64Array,
  scratch: MatchScratch,
  flags: Uint8Array,
  npig: Float64Array,
): void {
  const { ious, numDt, numGt, gtArea, gtCrowd, gtFrom, dtArea, dtAreaFrom, position, positionFrom, stride } = input;
  const numThr = iouThrs.length;
  const { order, ignore, crowd, taken, bestIou } = scratch;
  // A detection whose best IoU is below the threshold cannot match anything (the break needs a
  // match first), so most background detections skip the ground-truth loop entirely.
  for (let d = 0; d < numDt; d++) {
    let best = 0;
    for (let g = 0, row = d * numGt; g < numGt; g++) best = Math.max(best, ious[row + g]!);
    bestIou[d] = best;
  }
  for (let a = 0; a < areaRanges.length; a++) {
    const [lo, hi] = areaRanges[a]!;
    // Stable partition: regular ground truth first, ignored last, each in input order.
    let n = 0;
    for (let g = 0; g < numGt; g++) {
      const area = gtArea[gtFrom + g]!;
      if (gtCrowd[gtFrom + g] === 0 && !(area < lo || area > hi)) order[n++] = g;
    }
    npig[a]! += n;
    for (let g = 0; g < numGt; g++) {
      const area = gtArea[gtFrom + g]!;
      if (gtCrowd[gtFrom + g] !== 0 || area < lo || area > hi) order[n++] = g;
    }
    for (let s = 0; s < numGt; s++) {
      const g = order[s]!;
      const area = gtArea[gtFrom + g]!;
      crowd[s] = gtCrowd[gtFrom + g]!;
      ignore[s] = crowd[s] !== 0 || area < lo || area > hi ? 1 : 0;
    }

    for (let t = 0; t < numThr; t++) {
      taken.fill(0, 0, numGt);
      const base = (a * numThr + t) * stride;
      const start = Math.min(iouThrs[t]!, 1 - 1e-10);
      for (let d = 0; d < numDt; d++) {
        let best = start;
        let m = -1;
        if (bestIou[d]! >= start) {
          const row = d * numGt;
          for (let s = 0; s < numGt; s++) {
            if (taken[s] !== 0 && crowd[s] === 0) continue;
            if (m > -1 && ignore[m] === 0 && ignore[s] === 1) break;
            const iou = ious[row + order[s]!]!;
            if (iou < best) continue;
            best = iou;
            m = s;
          }
        }
        let f: number;
        if (m === -1) {
          const area = dtArea[dtAreaFrom + d]!;
          f = area < lo || area > hi ? IGNORED : 0;
        } else {
          taken[m] = 1;
          f = ignore[m] !== 0 ? MATCHED | IGNORED : MATCHED;
        }
        flags[base + position[positionFrom + d]!] = f;
      }
    }
  }
}
