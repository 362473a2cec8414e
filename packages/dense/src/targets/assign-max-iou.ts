import { boxIoUArray } from '../boxes/box-arrays.js';
import { checkKnownOptions } from '../boxes/check-options.js';
import { ASSIGN_BACKGROUND, ASSIGN_IGNORE, checkAssignInput, finishAssignment, type AssignInput, type Assignment } from './assign-common.js';

export interface MaxIoUAssignOptions {
  numClasses: number;
  /** Priors whose best IoU >= posIouThr are positive for that gt. */
  posIouThr: number;
  /** Best IoU in [0, negIouThr) (or in [lo, hi) when a pair) is background; between neg and pos: ignored. */
  negIouThr: number | readonly [number, number];
  /** Low-quality matches only for gts whose best IoU >= minPosIou. Default 0. */
  minPosIou?: number;
  /** Give every gt its best-matching prior(s) even below posIouThr. Default true. */
  matchLowQuality?: boolean;
  /** All priors tied at a gt's best IoU get the low-quality match, not only the first. Default true. */
  gtMaxAssignAll?: boolean;
  /**
   * Which gt a low-quality match gets. 'mmdet' (default): the gt whose best prior it is
   * (later gts win); 'torchvision': the prior's own best gt (torchvision's Matcher).
   */
  lowQualityStyle?: 'mmdet' | 'torchvision';
  /** Boxes to ignore (crowd): priors whose IoF with any of them > ignoreIofThr are ignored. */
  ignoreBoxes?: Float32Array;
  /** IoF threshold for ignoreBoxes. Default 0.5 (only used with ignoreBoxes). */
  ignoreIofThr?: number;
}

const KNOWN = ['numClasses', 'posIouThr', 'negIouThr', 'minPosIou', 'matchLowQuality', 'gtMaxAssignAll', 'lowQualityStyle', 'ignoreBoxes', 'ignoreIofThr'] as const;

/**
 * Max-IoU assignment (mmdetection MaxIoUAssigner; torchvision Matcher with
 * lowQualityStyle 'torchvision', posIouThr = high, negIouThr = low):
 * 1. every valid prior takes its best gt and that IoU;
 * 2. best IoU in [neg lo, neg hi) -> background; >= posIouThr -> positive; else ignored;
 * 3. low-quality matches: for each gt with best IoU >= minPosIou, the prior(s) reaching
 *    that best IoU become positive (see lowQualityStyle for which gt they get).
 * Runs on the CPU in O(N * G). Invalid priors (validFlags 0) and crowd-overlapping priors
 * are ignored and never count as anyone's best prior.
 */
export function maxIoUAssign(input: AssignInput, options: MaxIoUAssignOptions): Assignment {
  const where = 'maxIoUAssign';
  checkKnownOptions(where, options, KNOWN);
  const { numClasses, posIouThr } = options;
  const { numPriors, numGts, valid } = checkAssignInput(where, input, numClasses);
  if (!Number.isFinite(posIouThr)) throw new Error(`${where}: option 'posIouThr' must be a finite number, got ${posIouThr}`);
  const [negLo, negHi] = typeof options.negIouThr === 'number' ? [0, options.negIouThr] : options.negIouThr;
  if (!Number.isFinite(negLo) || !Number.isFinite(negHi)) {
    throw new Error(`${where}: option 'negIouThr' must be a number or [lo, hi], got ${JSON.stringify(options.negIouThr)}`);
  }
  const minPosIou = options.minPosIou ?? 0;
  const matchLowQuality = options.matchLowQuality ?? true;
  const gtMaxAssignAll = options.gtMaxAssignAll ?? true;
  const style = options.lowQualityStyle ?? 'mmdet';
  if (style !== 'mmdet' && style !== 'torchvision') throw new Error(`${where}: option 'lowQualityStyle' must be 'mmdet' or 'torchvision', got '${style}'`);

  const gtIndex = new Int32Array(numPriors).fill(ASSIGN_IGNORE);
  const maxIoU = new Float32Array(numPriors);
  if (numPriors === 0) return finishAssignment(gtIndex, maxIoU, input.gtLabels, numClasses);

  const usable = new Uint8Array(numPriors);
  for (let i = 0; i < numPriors; i++) usable[i] = valid(i) ? 1 : 0;
  if (options.ignoreBoxes !== undefined && options.ignoreBoxes.length > 0) {
    const thr = options.ignoreIofThr ?? 0.5;
    const numIgnore = options.ignoreBoxes.length / 4;
    const iof = boxIoUArray(input.priors, options.ignoreBoxes, 'iof');
    for (let i = 0; i < numPriors; i++) {
      for (let k = 0; k < numIgnore; k++) if (iof[i * numIgnore + k]! > thr) usable[i] = 0;
    }
  }

  if (numGts === 0) {
    for (let i = 0; i < numPriors; i++) if (usable[i]) gtIndex[i] = ASSIGN_BACKGROUND;
    return finishAssignment(gtIndex, maxIoU, input.gtLabels, numClasses);
  }

  const iou = boxIoUArray(input.priors, input.gtBoxes); // [N, G]
  const argmax = new Int32Array(numPriors);
  for (let i = 0; i < numPriors; i++) {
    if (!usable[i]) continue;
    let best = -Infinity;
    let bestG = 0;
    for (let g = 0; g < numGts; g++) {
      const v = iou[i * numGts + g]!;
      if (v > best) {
        best = v;
        bestG = g;
      }
    }
    maxIoU[i] = best;
    argmax[i] = bestG;
    if (best >= posIouThr) gtIndex[i] = bestG;
    else if (best >= negLo && best < negHi) gtIndex[i] = ASSIGN_BACKGROUND;
  }

  if (matchLowQuality) {
    for (let g = 0; g < numGts; g++) {
      let gtBest = -Infinity;
      let gtBestPrior = -1;
      for (let i = 0; i < numPriors; i++) {
        if (usable[i] && iou[i * numGts + g]! > gtBest) {
          gtBest = iou[i * numGts + g]!;
          gtBestPrior = i;
        }
      }
      if (gtBestPrior < 0 || gtBest < minPosIou) continue;
      const target = (i: number) => (style === 'mmdet' ? g : argmax[i]!);
      if (gtMaxAssignAll) {
        for (let i = 0; i < numPriors; i++) if (usable[i] && iou[i * numGts + g] === gtBest) gtIndex[i] = target(i);
      } else {
        gtIndex[gtBestPrior] = target(gtBestPrior);
      }
    }
  }
  // Report the IoU with the assigned gt (differs from the best IoU only for mmdet-style low-quality matches).
  for (let i = 0; i < numPriors; i++) if (gtIndex[i]! >= 0) maxIoU[i] = iou[i * numGts + gtIndex[i]!]!;
  return finishAssignment(gtIndex, maxIoU, input.gtLabels, numClasses);
}
