import { atssBoxTargets, type AtssBoxTargetOptions, type AtssBoxTargets, type DetectorTarget } from '@hpf/dense';

/** One image's per-prior training targets (all levels concatenated, level order): labels, gt boxes, centerness. */
export type AtssImageTargets = AtssBoxTargets;
export type AtssAssignerOptions = AtssBoxTargetOptions;

/**
 * ATSS sample selection for one image (@hpf/dense `atssBoxTargets`, shared with GFL, VFNet and TOOD's
 * warm-up): the top-k anchors per level nearest the gt centre, IoU threshold mean + std of the
 * candidates, centre inside the gt; the targets the ATSS head trains on are the gt box and the
 * centerness of the anchor centre. Anchors whose centre lies in a crowd box (`ignoreBoxes`) and
 * that are not positive are ignored. Plain arrays, no gradient.
 */
export function atssTargets(anchors: Float32Array, numPerLevel: readonly number[], target: DetectorTarget, options: AtssAssignerOptions): AtssImageTargets {
  return atssBoxTargets(anchors, numPerLevel, target, options);
}
