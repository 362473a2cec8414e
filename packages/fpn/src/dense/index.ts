// What every dense (one-stage) detector adapter shares: the Detector contract, option resolution,
// the head skeleton and model assembly, level flattening, targets, classification loss, predict.
export type { DetectorTarget, DetectorImageMeta, DetectorStats, DetectorLoss, DetectorState, Detector } from './types.js';
export {
  resolveDetectorOptions,
  DENSE_OPTION_KEYS,
  type DenseDetectorOptions,
  type DenseDefaults,
  type ResolvedDenseOptions,
} from './options.js';
export { DenseHead, DenseDetectorModel, type DenseHeadOptions, type DenseHeadOutput, type HeadOutputOf } from './dense-head.js';
export { buildDenseModel, type DenseModelSpec, type DenseNeckSpec, type DenseHeadContext, type CustomHeadSpec } from './model.js';
export { flattenLevels, batchByLevel, tileLevelPriors, concatLevels } from './levels.js';
export { centernessFromDistances, centernessTargets } from './centerness.js';
export { batchTargets, type BatchTargets, type ImageTargets, type FloatField } from './batch-targets.js';
export { checkTargets, ignoreCentersInBoxes, priorCenters } from './targets.js';
export { focalClassificationLoss } from './classification.js';
export { l1BoxLoss, smoothL1 } from './l1-loss.js';
export { boxesToOriginalPixels, detectionToOriginal, finishDetections, type PredictLevel } from './predict.js';
export { DenseDetector, type DecodedLevel, type DeferredLevel, type HeadLevels, type ModelOutputOf } from './detector.js';
export { deltaBoxDecoder, distanceBoxDecoder, type BoxDecoder, type DistanceBoxDecoderOptions } from './deferred-decode.js';
export { foregroundIndices, pickRows, alignedIoUArray } from './quality-targets.js';
export { atssBoxTargets, type AtssBoxTargets, type AtssBoxTargetOptions } from './atss-targets.js';
export { buildRetinaNetwork, decodeRetinaLevels, type RetinaAnchorOptions } from './retina-network.js';
