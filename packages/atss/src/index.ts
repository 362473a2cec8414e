// @hpf/engine registers tfjs-core's gradient functions (and the wasm training kernels), which
// computeLoss needs under tf.variableGrads / optimizer.minimize.
import '@hpf/engine';

export { createAtss, AtssDetector, ATSS_DEFAULTS, type AtssOptions, type AtssConfig } from './atss.js';
export { atssTargets, type AtssImageTargets, type AtssAssignerOptions } from './assigner.js';
export { atssLoss, type AtssLossInput, type AtssLossOptions } from './loss.js';
