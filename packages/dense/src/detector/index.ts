// What every dense (one-stage) detector adapter shares: the Detector contract, option resolution,
// the head skeleton and model assembly, level flattening, the classification loss, the base class.
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
export { focalClassificationLoss } from './classification.js';
export { DenseDetector, type DecodedLevel, type DeferredLevel, type HeadLevels, type ModelOutputOf } from './detector.js';
export { buildRetinaNetwork, decodeRetinaLevels, type RetinaAnchorOptions } from './retina-network.js';
