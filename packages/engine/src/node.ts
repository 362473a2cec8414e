// `@hpf/engine/node`: what only runs under Node: backend selection among tfjs-node(-gpu), wasm and
// cpu (reads process.env, loads the optional native peers) and tfjs' multi-threaded wasm build
// started through worker_threads. Everything else is in the main entry.
export {
  BACKEND_REQUESTS,
  formatBackendChoice,
  initBackend,
  resolveWasmThreads,
  type BackendChoice,
  type BackendRequest,
  type InitBackendOptions,
  type SkippedBackend,
  type WasmInfo,
} from './backend.js';
export { MAX_WASM_THREADS, registerThreadedWasmBackend } from './wasm-threads.js';

// The trainer and its checkpoint files (node:fs).
export {
  fit,
  Trainer,
  modelTensors,
  CHECKPOINT_FORMAT,
  READABLE_CHECKPOINT_FORMATS,
  BackendMismatchError,
  NonFiniteStateError,
  type CheckpointHeader,
  type FitCheckpoint,
  type FitHooks,
  type FitIterationEvent,
  type FitOptions,
  type FitResult,
  type FitValidation,
  type IterationRecord,
  type StepResult,
  type TrainBatch,
  type TrainerOptions,
} from './trainer/fit.js';
export {
  writeCheckpoint,
  readCheckpoint,
  readCheckpointMeta,
  isCheckpointFile,
  assignVariables,
  NonFiniteTensorError,
  type CheckpointFile,
  type TensorRecord,
} from './trainer/checkpoint.js';
