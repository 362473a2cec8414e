export { createFoveaBox, FoveaBoxDetector, FOVEABOX_DEFAULTS, type FoveaBoxOptions, type FoveaBoxConfig } from './foveabox.js';
export { foveaTargets, type FoveaImageTargets, type FoveaAssignerOptions } from './assigner.js';
export { foveaLoss, type FoveaLossInput, type FoveaLossOptions } from './loss.js';
