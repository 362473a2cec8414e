import { getKernel, registerKernel, unregisterKernel, type KernelConfig } from '@tensorflow/tfjs-core';
import { conv2dBackpropFilterConfig } from './conv2d-backprop-filter.js';
import { conv2dBackpropInputConfig } from './conv2d-backprop-input.js';
import { maxPoolGradConfig } from './max-pool-grad.js';
import { castConfig, identityConfig } from './shared-copy.js';
import { sliceConfig, splitVConfig, unpackConfig } from './slice.js';
import { unsortedSegmentSumConfig } from './unsorted-segment-sum.js';
import { displacedWasmKernels as displaced } from './wasm-ops.js';

/** Kernels that training needs and tfjs-backend-wasm 4.22 does not register at all. */
export const WASM_MISSING_KERNELS: readonly KernelConfig[] = [conv2dBackpropFilterConfig, unsortedSegmentSumConfig];

/**
 * Kernels that tfjs-backend-wasm 4.22 has, but slowly: scalar loops (Conv2DBackpropInput,
 * MaxPoolGrad), copies where a shared buffer does (Identity, same-dtype Cast), or a copy of the
 * whole input where a view of it does (Slice, SplitV, Unpack).
 */
export const WASM_REPLACED_KERNELS: readonly KernelConfig[] = [
  conv2dBackpropInputConfig,
  maxPoolGradConfig,
  identityConfig,
  castConfig,
  sliceConfig,
  splitVConfig,
  unpackConfig,
];

export interface WasmKernelRegistration {
  /** Kernels the backend lacks, now served by the engine. */
  added: string[];
  /** Native kernels now served by the engine's XNNPACK-based ones. */
  replaced: string[];
}

const ours = new Set<KernelConfig['kernelFunc']>([...WASM_MISSING_KERNELS, ...WASM_REPLACED_KERNELS].map((k) => k.kernelFunc));

const isActive = (config: KernelConfig): boolean => getKernel(config.kernelName, 'wasm')?.kernelFunc === config.kernelFunc;

export interface RegisterWasmKernelsOptions {
  /**
   * Swap the slow native kernels (WASM_REPLACED_KERNELS) for the engine's (default true). False
   * restores the native ones, e.g. to benchmark against them.
   */
  replaceSlowKernels?: boolean;
}

/**
 * Registers the wasm training kernels: the missing ones (left alone if a future backend provides
 * them) and the faster replacements. Idempotent; call before or after `tf.setBackend('wasm')`.
 * Returns the engine kernels that are active afterwards.
 */
export function registerWasmTrainingKernels(options: RegisterWasmKernelsOptions = {}): WasmKernelRegistration {
  for (const key of Object.keys(options)) {
    if (key !== 'replaceSlowKernels') throw new Error(`registerWasmTrainingKernels: unknown option '${key}'`);
  }
  const { replaceSlowKernels = true } = options;
  for (const config of WASM_MISSING_KERNELS) {
    if (getKernel(config.kernelName, 'wasm') === undefined) registerKernel(config);
  }
  for (const config of WASM_REPLACED_KERNELS) {
    const current = getKernel(config.kernelName, 'wasm');
    const oursActive = current !== undefined && ours.has(current.kernelFunc);
    if (replaceSlowKernels && !oursActive) {
      if (current !== undefined) {
        displaced.set(config.kernelName, current);
        unregisterKernel(config.kernelName, 'wasm');
      }
      registerKernel(config);
    } else if (!replaceSlowKernels && oursActive) {
      unregisterKernel(config.kernelName, 'wasm');
      const native = displaced.get(config.kernelName);
      if (native !== undefined) registerKernel(native);
    }
  }
  return activeWasmTrainingKernels();
}

/** The engine's wasm kernels that are registered now (registers nothing). */
export function activeWasmTrainingKernels(): WasmKernelRegistration {
  return {
    added: WASM_MISSING_KERNELS.filter(isActive).map((k) => k.kernelName),
    replaced: WASM_REPLACED_KERNELS.filter(isActive).map((k) => k.kernelName),
  };
}
