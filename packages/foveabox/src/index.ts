// @hpf/engine registers tfjs-core's gradient functions (and the wasm training kernels), which
// computeLoss needs under tf.variableGrads / optimizer.minimize.
import '@hpf/engine';

export { createFoveaBox, FoveaBoxDetector, FOVEABOX_DEFAULTS, type FoveaBoxOptions, type FoveaBoxConfig } from './foveabox.js';
export { foveaTargets, type FoveaImageTargets, type FoveaAssignerOptions } from './assigner.js';
export { foveaLoss, type FoveaLossInput, type FoveaLossOptions } from './loss.js';
