export { saveWeights, loadWeights, type SaveWeightsOptions, type LoadWeightsOptions, type WeightsDestination } from './weights.js';
export { fileIOHandler, weightByteLength, MODEL_JSON, DEFAULT_SHARD_BYTES, type FileHandlerOptions } from './file-handler.js';
export { loadStateDict, getStateTensors, type LoadReport, type LoadStateOptions } from './state-dict.js';
