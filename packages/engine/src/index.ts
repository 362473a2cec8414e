// The main entry runs nothing on import and imports no Node module: browsers can bundle it.
// Backend selection (tfjs-node, threaded wasm under Node) is in './node.ts' (`@hpf/engine/node`).
export {
  installTrainingKernels,
  trainingKernelsInstalled,
  checkWasmBackend,
  missingWasmBackendMembers,
  PINNED_TFJS_WASM,
  WASM_BACKEND_MEMBERS,
} from './install.js';
export { registerTfjsGradients, TFJS_GRADIENT_CONFIGS } from './gradients.js';
export {
  activeWasmTrainingKernels,
  registerWasmTrainingKernels,
  WASM_MISSING_KERNELS,
  WASM_REPLACED_KERNELS,
  type RegisterWasmKernelsOptions,
  type WasmKernelRegistration,
} from './kernels/register.js';
export { conv2dFilterGradient, type FilterGradientGeometry } from './kernels/conv2d-backprop-filter.js';
export { conv2dInputGradient, type InputGradientGeometry } from './kernels/conv2d-backprop-input.js';
export {
  assertNoTensorLeak,
  trackTensors,
  TensorLeakError,
  type LeakCheckOptions,
  type TensorTracker,
} from './leak-guard.js';
export { createRng, type Rng } from './rng.js';
export { SGD_STATE_FORMAT, SgdMomentum, type Optimizer, type SgdOptions, type SgdState } from './trainer/sgd.js';
export { createLrSchedule, warmupFactor, type LrSchedule, type LrScheduleOptions } from './trainer/schedule.js';
export { clipByGlobalNorm, type ClipResult } from './trainer/clip.js';
export { NonFiniteLossError, trainStep, type TrainStepOptions, type TrainStepResult } from './trainer/train-step.js';
export { sgdCheckpointParts, sgdStateOf, MOMENTUM_PREFIX, type SgdStateMeta } from './trainer/sgd-state.js';
export { focusStateOf, type LegacyFocusState } from './trainer/focus-state.js';
// The trainer (fit, Trainer) and checkpoint files use node:fs: they are in '@hpf/engine/node'.
