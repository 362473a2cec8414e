export { alignedBoxIoU, type BoxOverlapMode } from './box-iou.js';
export type { Reduction, ReduceOptions } from './reduce.js';
export { sigmoidFocalLoss, type LabelTargets, type SigmoidFocalLossOptions } from './focal.js';
export { qualityFocalLoss, type QualityTargets, type QualityFocalLossOptions } from './quality-focal.js';
export { varifocalLoss, type VarifocalTargets, type VarifocalLossOptions } from './varifocal.js';
export { distributionFocalLoss, type DistributionFocalLossOptions } from './distribution-focal.js';
export { binaryCrossEntropyWithLogits } from './bce.js';
export { l1BoxLoss, smoothL1 } from './l1-loss.js';
export { iouLoss, giouLoss, type BoxLossOptions, type IoULossOptions, type GIoULossOptions } from './iou-loss.js';
export {
  DEFAULT_HPF_OPTIONS,
  resolveHpfOptions,
  validateHpfOptions,
  type HpfMode,
  type HpfOptions,
  type HpfStatistic,
  type PublishedFocus,
} from './hpf-options.js';
export {
  FOCUS_STATE_FORMAT,
  ProgressiveFocus,
  type FocusedLoss,
  type FocusState,
  type FocusInput,
  type HpfLossOptions,
  type HpfResult,
  type HpfStep,
  type HpfVarifocalOptions,
  type LevelStats,
} from './progressive-focus.js';
