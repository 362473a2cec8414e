// What one-stage (dense) detectors share above the network blocks of @hpf/nn.
// Geometry: box ops, IoU, box coders; anchor and point priors.
export * from './boxes/index.js';
export * from './priors/index.js';
// Which prior learns which object: assigners and the target helpers built on them.
export * from './targets/index.js';
// The Detector contract, option resolution, the head skeleton, model assembly and the DenseDetector base.
export * from './detector/index.js';
// Predictions: deferred box decoding, top-k, score threshold, class-aware NMS, mapping to the original image.
export * from './postprocess/index.js';
