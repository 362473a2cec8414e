import { maxIoUAssign, type DetectorTarget } from '@hpf/dense';
import { fitGmm1d } from './gmm.js';

export interface PaaCandidateOptions {
  numClasses: number;
  /** IoU >= this with a gt makes an anchor a candidate of that gt (published 0.1; below: negative). */
  candidateIouThr: number;
  /** Anchors whose intersection-over-anchor-area with a crowd box exceeds this are ignored. */
  ignoreIofThr: number;
}

/** One image's PAA candidates (mmdetection MaxIoUAssigner(0.1, 0.1, min_pos_iou 0) with low-quality matches). */
export interface PaaCandidates {
  /** Per anchor: gt class for candidates, numClasses for negatives, -1 ignored. */
  labels: Int32Array;
  /** Per anchor: candidate gt index, -1 negative, -2 ignored. */
  gtIndex: Int32Array;
  /** Anchor indices of the candidates, ascending. */
  candidates: Int32Array;
}

export function paaCandidates(anchors: Float32Array, target: DetectorTarget, options: PaaCandidateOptions): PaaCandidates {
  const a = maxIoUAssign(
    { priors: anchors, gtBoxes: target.boxes, gtLabels: target.labels },
    {
      numClasses: options.numClasses,
      posIouThr: options.candidateIouThr,
      negIouThr: options.candidateIouThr,
      minPosIou: 0,
      matchLowQuality: true,
      gtMaxAssignAll: true,
      lowQualityStyle: 'mmdet',
      ignoreBoxes: target.ignoreBoxes,
      ignoreIofThr: options.ignoreIofThr,
    },
  );
  const candidates: number[] = [];
  a.gtIndex.forEach((g, i) => {
    if (g >= 0) candidates.push(i);
  });
  return { labels: a.labels, gtIndex: a.gtIndex, candidates: Int32Array.from(candidates) };
}

export interface PaaReassignInput {
  /** Candidate anchor indices (all levels concatenated). */
  candidates: Int32Array;
  /** The gt of each candidate. */
  candidateGt: Int32Array;
  /** Each candidate's score: classification + localisation loss (lower is better). */
  candidateLoss: Float64Array;
  /** Anchors per level, to split candidates by level. */
  numPerLevel: readonly number[];
  numGts: number;
  /** Candidates kept per level and gt before the mixture fit. Published 9. */
  topk: number;
}

/**
 * PAA's probabilistic anchor assignment of one image (Kim & Lee, ECCV 2020; mmdetection
 * PAAHead.paa_reassign with the separation scheme of Fig. 3 (c)): per gt, the `topk` lowest-loss
 * candidates of every level are pooled and sorted by loss; a two-component 1-D Gaussian mixture is
 * fitted by EM (means initialised at the smallest and largest loss, variances 1, weights 1/2); among
 * the samples the fit assigns to the low-loss component, the one with the highest mixture density
 * is the boundary, and the low-loss-component samples up to it (in loss order) are positives. A gt
 * with fewer than 2 pooled candidates gets no positive. Returns the positive anchor indices.
 */
export function paaReassign(input: PaaReassignInput): Int32Array {
  const { candidates, candidateGt, candidateLoss, numPerLevel, topk } = input;
  const levelEnd = numPerLevel.map((_, l) => numPerLevel.slice(0, l + 1).reduce((s, n) => s + n, 0));
  const levelOf = (anchor: number) => levelEnd.findIndex((end) => anchor < end);
  const positives: number[] = [];
  for (let g = 0; g < input.numGts; g++) {
    const pooled: Array<{ anchor: number; loss: number }> = [];
    for (let l = 0; l < numPerLevel.length; l++) {
      const mine: Array<{ anchor: number; loss: number }> = [];
      candidates.forEach((anchor, k) => {
        if (candidateGt[k] === g && levelOf(anchor) === l) mine.push({ anchor, loss: candidateLoss[k]! });
      });
      mine.sort((a, b) => a.loss - b.loss || a.anchor - b.anchor);
      pooled.push(...mine.slice(0, topk));
    }
    if (pooled.length < 2) continue;
    pooled.sort((a, b) => a.loss - b.loss || a.anchor - b.anchor);
    const losses = pooled.map((p) => p.loss);
    const fit = fitGmm1d(losses, { weights: [0.5, 0.5], means: [losses[0]!, losses[losses.length - 1]!], variances: [1, 1] });
    const foreground = pooled.filter((_, k) => fit.labels[k] === 0);
    if (foreground.length === 0) continue;
    const fgScores = pooled.map((_, k) => k).filter((k) => fit.labels[k] === 0).map((k) => fit.scores[k]!);
    let boundary = 0;
    fgScores.forEach((s, k) => {
      if (s > fgScores[boundary]!) boundary = k;
    });
    for (let k = 0; k <= boundary; k++) positives.push(foreground[k]!.anchor);
  }
  return Int32Array.from(positives);
}
