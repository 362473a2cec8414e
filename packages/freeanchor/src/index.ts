// @hpf/engine registers tfjs-core's gradient functions (and the wasm training kernels), which
// computeLoss needs under tf.variableGrads / optimizer.minimize.
import '@hpf/engine';

export { createFreeAnchor, FreeAnchorDetector, FREEANCHOR_DEFAULTS, type FreeAnchorOptions, type FreeAnchorConfig } from './freeanchor.js';
export { anchorBags, boxProbability } from './bags.js';
export { freeAnchorLoss, type FreeAnchorLossInput, type FreeAnchorLossOptions } from './loss.js';
