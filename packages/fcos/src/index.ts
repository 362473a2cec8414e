// @hpf/engine registers tfjs-core's gradient functions (and the wasm training kernels), which
// computeLoss needs under tf.variableGrads / optimizer.minimize.
import '@hpf/engine';

export { createFcos, FcosDetector, FCOS_DEFAULTS, type FcosOptions, type FcosConfig } from './fcos.js';
export { fcosTargets, type FcosImageTargets, type FcosAssignerOptions } from './assigner.js';
export { fcosLoss, type FcosLossInput, type FcosLossOptions } from './loss.js';
