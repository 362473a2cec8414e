export { batchedNms, batchedNmsSync } from './batched-nms.js';
export {
  selectDetections,
  detectionsToArray,
  postprocessImage,
  postprocessBatch,
  resolvePostprocessOptions,
  type LevelDetections,
  type BatchLevelDetections,
  type PostprocessOptions,
  type Detection,
  type DetectionTensors,
} from './select-detections.js';
