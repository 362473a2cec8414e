/**
 * Outcome of one detection at every IoU threshold, packed in one 32-bit word per (area range,
 * detection): bit 2t = matched at threshold t, bit 2t+1 = ignored at threshold t (T <= 16).
 * Word 0, the common case, is "unmatched and counted" (a false positive) at every threshold.
 */
export function matchedBit(t: number): number {
  return 1 << (2 * t);
}
export function ignoredBit(t: number): number {
  return 1 << (2 * t + 1);
}
/** Unmatched and ignored at all T thresholds: a detection outside the area range. */
export function allIgnored(numThr: number): number {
  let w = 0;
  for (let t = 0; t < numThr; t++) w |= ignoredBit(t);
  return w >>> 0;
}

/** Scratch buffers reused across images so that the matching loop allocates nothing. */
export class MatchScratch {
  ious = new Float64Array(0);
  order = new Int32Array(0);
  ignore = new Uint8Array(0);
  crowd = new Uint8Array(0);
  taken = new Uint8Array(0);
  bestIou = new Float64Array(0);
  candidates = new Int32Array(0);
  words = new Uint32Array(0);

  ensure(numDt: number, numGt: number): void {
    if (this.ious.length < numDt * numGt) this.ious = new Float64Array(Math.max(numDt * numGt, 2 * this.ious.length));
    if (this.bestIou.length < numDt) {
      const n = Math.max(numDt, 2 * this.bestIou.length);
      this.bestIou = new Float64Array(n);
      this.candidates = new Int32Array(n);
      this.words = new Uint32Array(n);
    }
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
  /** Where detection d's word goes: words[a * stride + position[positionFrom + d]]. */
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
  out: Uint32Array,
  npig: Float64Array,
): void {
  const { ious, numDt, numGt, gtArea, gtCrowd, gtFrom, dtArea, position, positionFrom, stride } = input;
  const numThr = iouThrs.length;
  const { order, ignore, crowd, taken, bestIou, candidates, words } = scratch;
  const ignoredEverywhere = allIgnored(numThr);
  // A detection whose best IoU is below a threshold cannot match anything there (the break needs
  // a match first), so only "candidates" enter the ground-truth loop at all.
  let numCandidates = 0;
  const lowest = Math.min(iouThrs[0]!, 1 - 1e-10);
  for (let d = 0; d < numDt; d++) {
    let best = 0;
    for (let g = 0, row = d * numGt; g < numGt; g++) best = Math.max(best, ious[row + g]!);
    bestIou[d] = best;
    if (best >= lowest) candidates[numCandidates++] = d;
  }

  for (let a = 0; a < areaRanges.length; a++) {
    const [lo, hi] = areaRanges[a]!;
    // Default outcome: unmatched at every threshold, ignored if the detection is outside the range.
    for (let d = 0; d < numDt; d++) {
      const area = dtArea[d]!;
      words[d] = area < lo || area > hi ? ignoredEverywhere : 0;
    }
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

    for (let t = 0; t < numThr && numCandidates > 0; t++) {
      taken.fill(0, 0, numGt);
      const start = Math.min(iouThrs[t]!, 1 - 1e-10);
      for (let c = 0; c < numCandidates; c++) {
        const d = candidates[c]!;
        if (bestIou[d]! < start) continue;
        let best = start;
        let m = -1;
        const row = d * numGt;
        for (let s = 0; s < numGt; s++) {
          if (taken[s] !== 0 && crowd[s] === 0) continue;
          if (m > -1 && ignore[m] === 0 && ignore[s] === 1) break;
          const iou = ious[row + order[s]!]!;
          if (iou < best) continue;
          best = iou;
          m = s;
        }
        if (m === -1) continue;
        taken[m] = 1;
        // Matched: the ignore bit follows the ground truth, not the detection's area.
        const w = words[d]! & ~ignoredBit(t);
        words[d] = (w | matchedBit(t) | (ignore[m] !== 0 ? ignoredBit(t) : 0)) >>> 0;
      }
    }
    const base = a * stride;
    for (let d = 0; d < numDt; d++) out[base + position[positionFrom + d]!] = words[d]!;
  }
}
