export { batchedNms, batchedNmsSync } from './batched-nms.js';
export { batchedNmsArray } from './nms-array.js';
export { topPairs, indicesByScore } from './score-order.js';
export {
  selectDetections,
  detectionsToArray,
  postprocessImage,
  postprocessBatch,
  postprocessArrays,
  resolvePostprocessOptions,
  type LevelDetections,
  type LevelArrays,
  type DetectionArrays,
  type BatchLevelDetections,
  type PostprocessOptions,
  type Detection,
  type DetectionTensors,
} from './select-detections.js';
export { deltaBoxDecoder, distanceBoxDecoder, type BoxDecoder, type DistanceBoxDecoderOptions } from './deferred-decode.js';
export { boxesToOriginal, detectionToOriginal, finishDetections, type PredictLevel } from './predict.js';
