// Browser-safe: no Node module is reachable from here (test/browser-bundle.test.ts). Writing a
// model folder and loading one from a path are in './node.ts' (`@hpf/model/node`).
export {
  MODEL_FORMAT,
  MODEL_FORMAT_VERSION,
  MODEL_JSON_FILE,
  PIXELS_01,
  parseModelJson,
  type DetectorClass,
  type DetectorDescriptor,
  type ModelJson,
  type Normalization,
} from './format.js';
export { DETECTOR_FACTORIES, detectorFactory, type DetectorFactory } from './detectors.js';
export { encodeDetector, type EncodedModel, type EncodeOptions, type ExportInfo } from './encode.js';
export { ExportedDetector, type NamedDetection, type PixelImage } from './exported-detector.js';
export { filesSource, loadDetector, loadDetectorFrom, modelJsonUrl, urlSource, type ModelSource, type NamedBlob } from './load.js';
