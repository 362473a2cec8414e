import { atssBoxTargets, type AtssBoxTargetOptions, type AtssBoxTargets, type DetectorTarget } from '@hpf/dense';

/** One image's per-prior training targets (all levels concatenated, level order). */
export type GflImageTargets = AtssBoxTargets;
export type GflAssignerOptions = AtssBoxTargetOptions;

/**
 * GFL's assignment for one image: ATSS on the anchors, the gt box of each positive, crowd boxes
 * ignoring non-positive anchors whose centre lies in them (@hpf/dense `atssBoxTargets`, shared with
 * VFNet). The quality (IoU) targets depend on the prediction and are computed in `gflLoss`.
 */
export function gflTargets(anchors: Float32Array, numPerLevel: readonly number[], target: DetectorTarget, options: GflAssignerOptions): GflImageTargets {
  return atssBoxTargets(anchors, numPerLevel, target, options);
}
