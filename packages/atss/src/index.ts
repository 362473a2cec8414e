export { createAtss, AtssDetector, ATSS_DEFAULTS, type AtssOptions, type AtssConfig } from './atss.js';
export { atssTargets, type AtssImageTargets, type AtssAssignerOptions } from './assigner.js';
export { atssLoss, type AtssLossInput, type AtssLossOptions } from './loss.js';
