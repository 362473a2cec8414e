export { createTood, ToodDetector, TOOD_DEFAULTS, type ToodOptions, type ToodConfig } from './tood.js';
export { ToodHead, type ToodHeadOptions, type ToodHeadOutput } from './head.js';
export { taskAlignedTargets, type TaskAlignedOptions, type TaskAlignedTargets } from './task-aligned-assigner.js';
export { toodLoss, type ToodLossInput, type ToodLossOptions } from './loss.js';
export { deformSampling } from './deform-sampling.js';
