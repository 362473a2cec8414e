import { boxIoUArray } from '../boxes/box-arrays.js';
import { checkKnownOptions } from '../boxes/check-options.js';
import { ASSIGN_BACKGROUND, ASSIGN_IGNORE, checkAssignInput, finishAssignment, type AssignInput, type Assignment } from './assign-common.js';

export interface AtssAssignOptions {
  numClasses: number;
  /** Priors per level, in the order `priors` concatenates them (sum must equal N). */
  numPerLevel: readonly number[];
  /** Candidates per level and gt, nearest by centre distance. Default 9. */
  topk?: number;
  /** A candidate's centre must be more than this inside the gt box (mmdetection: 0.01). */
  centerEps?: number;
}

const KNOWN = ['numClasses', 'numPerLevel', 'topk', 'centerEps'] as const;

/**
 * ATSS assignment (Zhang et al. 2020; mmdetection ATSSAssigner):
 * 1. for each gt and level, the topk valid priors whose centres are nearest the gt centre
 *    (Euclidean; ties broken by lower prior index) are candidates;
 * 2. the gt's IoU threshold is mean + std of its candidates' IoUs (std with Bessel's
 *    correction, as torch.std; a gt with a single candidate uses std 0);
 * 3. a candidate is positive when IoU >= threshold and its centre lies inside the gt
 *    (min distance to the gt's sides > centerEps);
 * 4. a prior positive for several gts goes to the one it overlaps most (first on ties).
 * Other valid priors are background; invalid priors (validFlags 0) are ignored.
 */
export function atssAssign(input: AssignInput, options: AtssAssignOptions): Assignment {
  const where = 'atssAssign';
  checkKnownOptions(where, options, KNOWN);
  const { numClasses, numPerLevel } = options;
  const { numPriors, numGts, valid } = checkAssignInput(where, input, numClasses);
  const topk = options.topk ?? 9;
  if (!Number.isInteger(topk) || topk < 1) throw new Error(`${where}: option 'topk' must be an integer >= 1, got ${topk}`);
  const centerEps = options.centerEps ?? 0.01;
  if (!Array.isArray(numPerLevel) || numPerLevel.some((n) => !Number.isInteger(n) || n < 0)) {
    throw new Error(`${where}: option 'numPerLevel' must be an array of non-negative integers, got ${JSON.stringify(numPerLevel)}`);
  }
  const total = numPerLevel.reduce((s, n) => s + n, 0);
  if (total !== numPriors) throw new Error(`${where}: option 'numPerLevel' sums to ${total} but there are ${numPriors} priors`);

  const { priors, gtBoxes } = input;
  const gtIndex = new Int32Array(numPriors);
  for (let i = 0; i < numPriors; i++) gtIndex[i] = valid(i) ? ASSIGN_BACKGROUND : ASSIGN_IGNORE;
  const maxIoU = new Float32Array(numPriors);
  if (numGts === 0 || numPriors === 0) return finishAssignment(gtIndex, maxIoU, input.gtLabels, numClasses);

  const iou = boxIoUArray(priors, gtBoxes); // [N, G]
  const cx = new Float64Array(numPriors);
  const cy = new Float64Array(numPriors);
  for (let i = 0; i < numPriors; i++) {
    cx[i] = (priors[4 * i]! + priors[4 * i + 2]!) / 2;
    cy[i] = (priors[4 * i + 1]! + priors[4 * i + 3]!) / 2;
  }

  const nearIdx = new Int32Array(topk);
  const nearDist = new Float64Array(topk);
  // bestOverlap[i]: highest IoU among the gts for which prior i is positive.
  const bestOverlap = new Float64Array(numPriors).fill(-Infinity);
  for (let g = 0; g < numGts; g++) {
    const [x1, y1, x2, y2] = [gtBoxes[4 * g]!, gtBoxes[4 * g + 1]!, gtBoxes[4 * g + 2]!, gtBoxes[4 * g + 3]!];
    const gx = (x1 + x2) / 2;
    const gy = (y1 + y2) / 2;
    const candidates: number[] = [];
    let start = 0;
    for (const n of numPerLevel) {
      const m = nearestPriors(cx, cy, gx, gy, start, start + n, valid, topk, nearIdx, nearDist);
      for (let k = 0; k < m; k++) candidates.push(nearIdx[k]!);
      start += n;
    }
    if (candidates.length === 0) continue;
    const ious = candidates.map((i) => iou[i * numGts + g]!);
    const mean = ious.reduce((s, v) => s + v, 0) / ious.length;
    const std = ious.length > 1 ? Math.sqrt(ious.reduce((s, v) => s + (v - mean) ** 2, 0) / (ious.length - 1)) : 0;
    const thr = mean + std;
    candidates.forEach((i, k) => {
      const inside = Math.min(cx[i]! - x1, cy[i]! - y1, x2 - cx[i]!, y2 - cy[i]!) > centerEps;
      if (ious[k]! >= thr && inside && ious[k]! > bestOverlap[i]!) {
        bestOverlap[i] = ious[k]!;
        gtIndex[i] = g;
      }
    });
  }
  for (let i = 0; i < numPriors; i++) {
    let best = 0;
    if (gtIndex[i]! >= 0) best = iou[i * numGts + gtIndex[i]!]!;
    else for (let g = 0; g < numGts; g++) best = Math.max(best, iou[i * numGts + g]!);
    maxIoU[i] = best;
  }
  return finishAssignment(gtIndex, maxIoU, input.gtLabels, numClasses);
}

/**
 * The `k` valid priors in [start, end) whose centres are nearest (gx, gy), nearest first,
 * written to idx/dist; returns how many. A bounded insertion keeps this O(n * k) instead of
 * sorting every level per gt; scanning in index order with a strict comparison keeps the
 * lower index first among equal distances.
 */
function nearestPriors(
  cx: Float64Array,
  cy: Float64Array,
  gx: number,
  gy: number,
  start: number,
  end: number,
  valid: (i: number) => boolean,
  k: number,
  idx: Int32Array,
  dist: Float64Array,
): number {
  let m = 0;
  for (let i = start; i < end; i++) {
    if (!valid(i)) continue;
    const d = (cx[i]! - gx) ** 2 + (cy[i]! - gy) ** 2;
    if (m === k && d >= dist[k - 1]!) continue;
    let pos = m < k ? m++ : k - 1;
    while (pos > 0 && dist[pos - 1]! > d) {
      dist[pos] = dist[pos - 1]!;
      idx[pos] = idx[pos - 1]!;
      pos--;
    }
    dist[pos] = d;
    idx[pos] = i;
  }
  return m;
}
