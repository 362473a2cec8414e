// Model parts (modules, layers, backbones, neck, head blocks, weight IO).
export * from './nn/index.js';
export * from './backbone/index.js';
export * from './neck/index.js';
export * from './head/index.js';
export * from './io/index.js';
// Geometry (priors, box coders, IoU) and post-processing (top-k, NMS).
export * from './priors/index.js';
export * from './boxes/index.js';
export * from './postprocess/index.js';
// What every dense (one-stage) detector shares: the detector contract, level flattening, targets.
export * from './dense/index.js';
