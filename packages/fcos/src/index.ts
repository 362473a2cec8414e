export { createFcos, FcosDetector, FCOS_DEFAULTS, type FcosOptions, type FcosConfig } from './fcos.js';
export { fcosTargets, type FcosImageTargets, type FcosAssignerOptions } from './assigner.js';
export { fcosLoss, type FcosLossInput, type FcosLossOptions } from './loss.js';
