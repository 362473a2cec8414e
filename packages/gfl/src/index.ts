export { createGfl, GflDetector, GFL_DEFAULTS, type GflOptions, type GflConfig } from './gfl.js';
export { GflHead, type GflHeadOptions } from './head.js';
export { gflTargets, type GflImageTargets, type GflAssignerOptions } from './assigner.js';
export { gflLoss, type GflLossInput, type GflLossOptions } from './loss.js';
export { integralDistances } from './integral.js';
