export { alignedBoxIoU, type BoxOverlapMode } from './box-iou.js';
