/**
 * Calls into the wasm backend's own registered kernels from inside a kernel function, so that
 * kernels composed here run entirely on the wasm heap (no copy through the cpu backend).
 * Intermediates must be released with `release` because kernel functions run outside the tape.
 */
import { getKernel, type KernelBackend, type KernelConfig, type NamedAttrMap, type NamedTensorInfoMap, type TensorInfo } from '@tensorflow/tfjs-core';

/**
 * The backend's own kernels that an engine replacement displaced (filled by
 * registerWasmTrainingKernels), for replacements that handle only some cases themselves.
 */
export const displacedWasmKernels = new Map<string, KernelConfig>();

export function nativeWasmKernel(kernelName: string): KernelConfig['kernelFunc'] {
  const native = displacedWasmKernels.get(kernelName);
  if (native === undefined) throw new Error(`@hpf/engine: the wasm backend's own '${kernelName}' kernel was not registered before the engine's`);
  return native.kernelFunc;
}

export function runWasmKernel(
  backend: KernelBackend,
  kernelName: string,
  inputs: NamedTensorInfoMap,
  attrs: NamedAttrMap = {},
): TensorInfo {
  const kernel = getKernel(kernelName, 'wasm');
  if (kernel === undefined) {
    throw new Error(`@hpf/engine: the wasm backend has no '${kernelName}' kernel to build a training kernel from`);
  }
  const out = kernel.kernelFunc({ inputs, attrs, backend });
  if (Array.isArray(out)) {
    throw new Error(`@hpf/engine: wasm kernel '${kernelName}' returned several outputs where one was expected`);
  }
  return out;
}

export function release(backend: KernelBackend, ...infos: TensorInfo[]): void {
  for (const info of infos) backend.disposeData(info.dataId);
}

export function transpose(backend: KernelBackend, x: TensorInfo, perm: number[]): TensorInfo {
  return runWasmKernel(backend, 'Transpose', { x }, { perm });
}

export function slice(backend: KernelBackend, x: TensorInfo, begin: number[], size: number[]): TensorInfo {
  return runWasmKernel(backend, 'Slice', { x }, { begin, size });
}

export function reshape(backend: KernelBackend, x: TensorInfo, shape: number[]): TensorInfo {
  return runWasmKernel(backend, 'Reshape', { x }, { shape });
}

/** The parts of tfjs-backend-wasm's BackendWasm used here (its class is not exported as a type we can narrow to). */
interface WasmHeapAccess {
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Float32Array;
}

/** A new uninitialised float32 tensor on the wasm heap, owned by the caller. */
export function allocateFloat32(backend: KernelBackend, shape: number[]): TensorInfo {
  return (backend as unknown as WasmHeapAccess).makeOutput(shape, 'float32');
}

/**
 * A float32 view of a tensor on the wasm heap. Take it after every allocation that precedes its
 * use: growing the heap detaches earlier views.
 */
export function heapView(backend: KernelBackend, info: TensorInfo): Float32Array {
  if (info.dtype !== 'float32') throw new Error(`@hpf/engine: expected a float32 tensor, got ${info.dtype}`);
  return (backend as unknown as WasmHeapAccess).typedArrayFromHeap(info);
}
