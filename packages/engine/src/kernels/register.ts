import { getKernel, registerKernel, type KernelConfig } from '@tensorflow/tfjs-core';
import { conv2dBackpropFilterConfig } from './conv2d-backprop-filter.js';
import { unsortedSegmentSumConfig } from './unsorted-segment-sum.js';

/** Kernels that training our detectors needs and tfjs-backend-wasm 4.22 does not register. */
export const WASM_TRAINING_KERNELS: readonly KernelConfig[] = [conv2dBackpropFilterConfig, unsortedSegmentSumConfig];

/**
 * Registers the wasm training kernels that the installed tfjs-backend-wasm lacks; a kernel that
 * the backend already provides is left alone. Idempotent. Returns the names it registered now.
 */
export function registerWasmTrainingKernels(): string[] {
  const added: string[] = [];
  for (const config of WASM_TRAINING_KERNELS) {
    if (getKernel(config.kernelName, 'wasm') === undefined) {
      registerKernel(config);
      added.push(config.kernelName);
    }
  }
  return added;
}
