/**
 * Identity and same-dtype Cast for the wasm backend that share the input's buffer instead of
 * copying it.
 *
 * tfjs-core clones (Identity) every tensor a gradient needs, when the forward op runs under a
 * tape (Engine.saveTensorsForBackwardMode), and several gradients cast float32 to float32
 * (Multiply, Relu, Square, moments). tfjs-backend-wasm 4.22 implements both as a fresh allocation
 * plus a copy: ~1 500 copies of activations per detector training step. The cpu and webgl backends
 * share the buffer with a reference count (tfjs tensors are immutable; Variable.assign re-points
 * the variable rather than writing in place), which the wasm backend supports too: its Reshape
 * kernel already shares. Casts that change the dtype and string tensors still go to the backend's
 * own kernels.
 */
import { Cast, type CastAttrs, Identity, type KernelBackend, type KernelConfig, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';
import { nativeWasmKernel } from './wasm-ops.js';

function share(backend: KernelBackend, x: TensorInfo): TensorInfo {
  (backend as unknown as { incRef(dataId: object): void }).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

function identity(args: { inputs: { x: TensorInfo }; backend: KernelBackend; attrs: NamedAttrMap }): TensorInfo {
  const { x } = args.inputs;
  if (x.dtype === 'string') return nativeWasmKernel(Identity)(args) as TensorInfo;
  return share(args.backend, x);
}

function cast(args: { inputs: { x: TensorInfo }; backend: KernelBackend; attrs: NamedAttrMap }): TensorInfo {
  const { x } = args.inputs;
  const { dtype } = args.attrs as unknown as CastAttrs;
  if (x.dtype === dtype && dtype !== 'string') return share(args.backend, x);
  return nativeWasmKernel(Cast)(args) as TensorInfo;
}

export const identityConfig: KernelConfig = {
  kernelName: Identity,
  backendName: 'wasm',
  kernelFunc: identity as unknown as KernelConfig['kernelFunc'],
};

export const castConfig: KernelConfig = {
  kernelName: Cast,
  backendName: 'wasm',
  kernelFunc: cast as unknown as KernelConfig['kernelFunc'],
};
