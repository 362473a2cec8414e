import './gradients.js';

export { registerWasmTrainingKernels, WASM_TRAINING_KERNELS } from './kernels/register.js';
export { conv2dFilterGradient, type FilterGradientGeometry } from './kernels/conv2d-backprop-filter.js';
