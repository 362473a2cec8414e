import { maxIoUAssign, type DetectorTarget } from '@hpf/dense';

/** One image's per-prior training targets (all levels concatenated, level order). */
export interface RetinaImageTargets {
  /** Class for positives, numClasses for background, -1 ignored. */
  labels: Int32Array;
  /** Index of the assigned gt for positives, -1 background, -2 ignored. */
  gtIndex: Int32Array;
  /** The assigned gt box (x1, y1, x2, y2) of each positive; zeros elsewhere. */
  boxTargets: Float32Array;
  numPositive: number;
}

export interface RetinaAssignerOptions {
  numClasses: number;
  /** IoU >= posIouThr: positive. Published 0.5. */
  posIouThr: number;
  /** IoU < negIouThr: background; in between: ignored. Published 0.4. */
  negIouThr: number;
  /**
   * Low-quality matches (every gt gets its best anchors): 'mmdet' gives them the gt whose best
   * anchor they are (mmdetection MaxIoUAssigner); 'torchvision' the anchor's own best gt (Matcher).
   */
  lowQualityStyle: 'mmdet' | 'torchvision';
  /** Anchors whose intersection-over-anchor-area with a crowd box exceeds this are ignored. */
  ignoreIofThr: number;
}

/**
 * RetinaNet's max-IoU assignment for one image (@hpf/dense `maxIoUAssign` with low-quality matches,
 * min_pos_iou 0) and the box each positive regresses to. Plain arrays, no gradient.
 */
export function retinaTargets(anchors: Float32Array, target: DetectorTarget, options: RetinaAssignerOptions): RetinaImageTargets {
  const a = maxIoUAssign(
    { priors: anchors, gtBoxes: target.boxes, gtLabels: target.labels },
    {
      numClasses: options.numClasses,
      posIouThr: options.posIouThr,
      negIouThr: options.negIouThr,
      minPosIou: 0,
      matchLowQuality: true,
      gtMaxAssignAll: true,
      lowQualityStyle: options.lowQualityStyle,
      ignoreBoxes: target.ignoreBoxes,
      ignoreIofThr: options.ignoreIofThr,
    },
  );
  const boxTargets = new Float32Array(anchors.length);
  a.gtIndex.forEach((g, i) => {
    if (g >= 0) boxTargets.set(target.boxes.subarray(4 * g, 4 * g + 4), 4 * i);
  });
  return { labels: a.labels, gtIndex: a.gtIndex, boxTargets, numPositive: a.numPositive };
}
