export type { SizeHW } from './check-options.js';
export { boxArea, boxCenters, centerDistance, clipBoxes, scaleBoxes, type ScaleBoxesOptions } from './box-ops.js';
export { boxIoU, type IoUMode } from './iou.js';
// Aligned (element-wise) IoU/GIoU lives in the loss package, which needs it for IoU losses;
// one implementation, re-exported here so detector code finds all box geometry in one place.
export { alignedBoxIoU, type BoxOverlapMode } from '@hpf/loss';
export { boxIoUArray, boxAreaArray, boxCentersArray } from './box-arrays.js';
export { DeltaXYWHCoder, type DeltaXYWHCoderOptions } from './delta-xywh-coder.js';
export {
  DistanceCoder,
  type DistanceCoderOptions,
  type DistanceEncodeOptions,
  type DistanceDecodeOptions,
} from './distance-coder.js';
