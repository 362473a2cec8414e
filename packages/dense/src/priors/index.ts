export { featureSizesFor, levelValidFlags, type PriorGenerator } from './prior-generator.js';
export { createAnchorGenerator, type AnchorGenerator, type AnchorGeneratorOptions } from './anchor-generator.js';
export { createPointGenerator, type PointGenerator, type PointGeneratorOptions } from './point-generator.js';
export { PriorCache, priorsToTensors, type PriorTensors } from './prior-cache.js';
