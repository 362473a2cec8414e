export { createRetinaNet, RetinaNetDetector, RETINANET_DEFAULTS, type RetinaNetOptions, type RetinaNetConfig } from './retinanet.js';
export { retinaTargets, type RetinaImageTargets, type RetinaAssignerOptions } from './assigner.js';
export { retinaLoss, type RetinaLossInput, type RetinaLossOptions } from './loss.js';
