// @hpf/engine registers tfjs-core's gradient functions (and the wasm training kernels), which
// computeLoss needs under tf.variableGrads / optimizer.minimize.
import '@hpf/engine';

export { createGfl, GflDetector, GFL_DEFAULTS, type GflOptions, type GflConfig } from './gfl.js';
export { GflHead, type GflHeadOptions } from './head.js';
export { gflTargets, type GflImageTargets, type GflAssignerOptions } from './assigner.js';
export { gflLoss, type GflLossInput, type GflLossOptions } from './loss.js';
export { integralDistances } from './integral.js';
