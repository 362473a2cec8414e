export { saveWeights, loadWeights, type SaveWeightsOptions, type LoadWeightsOptions } from './weights.js';
export { weightByteLength, MODEL_JSON, DEFAULT_SHARD_BYTES, type FileHandlerOptions } from './weights-format.js';
export { loadStateDict, getStateTensors, type LoadReport, type LoadStateOptions } from './state-dict.js';
export {
  parseSafetensors,
  tensorValues,
  encodeSafetensors,
  type SafetensorsFile,
  type SafetensorsEntry,
  type SafetensorsDtype,
  type Float32TensorData,
} from './safetensors.js';
export {
  loadTensors,
  safetensorsSource,
  loadModelWeights,
  encodeTorchState,
  torchShape,
  isBatchCounter,
  WeightsMismatchError,
  type TensorSource,
  type TorchLoadOptions,
  type TorchLoadReport,
  type MisshapedTensor,
} from './torch-state.js';
