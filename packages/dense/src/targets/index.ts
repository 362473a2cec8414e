export {
  ASSIGN_BACKGROUND,
  ASSIGN_IGNORE,
  type AssignInput,
  type Assignment,
} from './assign-common.js';
export { maxIoUAssign, type MaxIoUAssignOptions } from './assign-max-iou.js';
export { atssAssign, type AtssAssignOptions } from './assign-atss.js';
export { checkTargets, ignoreCentersInBoxes, priorCenters } from './targets.js';
export { centernessFromDistances, centernessTargets } from './centerness.js';
export { batchTargets, type BatchTargets, type ImageTargets, type FloatField } from './batch-targets.js';
export { foregroundIndices, pickRows, alignedIoUArray } from './quality-targets.js';
export { atssBoxTargets, type AtssBoxTargets, type AtssBoxTargetOptions } from './atss-targets.js';
