/**
 * UnsortedSegmentSum (the gradient of gather) for the wasm backend, built from its ScatterNd
 * kernel, which adds duplicate indices: out[s] = sum of x[i] over i with segmentIds[i] == s.
 *
 * A scatter costs O(N*D + S*D); the alternative one-hot matmul costs O(N*S*D) time and N*S memory,
 * which for a gather of P positives out of all priors (S ~ 10^4-10^5) is orders of magnitude more.
 * Ids outside [0, numSegments) are dropped, as in TensorFlow: they are routed to an extra
 * segment that is sliced off.
 */
import {
  type KernelBackend,
  type KernelConfig,
  type NamedAttrMap,
  type TensorInfo,
  UnsortedSegmentSum,
  type UnsortedSegmentSumAttrs,
  util,
} from '@tensorflow/tfjs-core';
import { release, reshape, runWasmKernel, slice } from './wasm-ops.js';

function scalarInt(backend: KernelBackend, value: number): TensorInfo {
  return runWasmKernel(backend, 'Fill', {}, { shape: [], value, dtype: 'int32' });
}

function unsortedSegmentSum(args: {
  inputs: { x: TensorInfo; segmentIds: TensorInfo };
  backend: KernelBackend;
  attrs: NamedAttrMap;
}): TensorInfo {
  const { backend } = args;
  const { x, segmentIds } = args.inputs;
  const { numSegments } = args.attrs as unknown as UnsortedSegmentSumAttrs;
  const idsShape = segmentIds.shape;
  if (!util.arraysEqual(x.shape.slice(0, idsShape.length), idsShape)) {
    throw new Error(
      `@hpf/engine: UnsortedSegmentSum segmentIds shape [${idsShape}] must be a prefix of x shape [${x.shape}]`,
    );
  }
  const numIds = util.sizeFromShape(idsShape);
  const rowShape = x.shape.slice(idsShape.length);
  const outShape = [numSegments, ...rowShape];
  if (numIds === 0 || util.sizeFromShape(rowShape) === 0) {
    return runWasmKernel(backend, 'Fill', {}, { shape: outShape, value: 0, dtype: x.dtype });
  }

  const zero = scalarInt(backend, 0);
  const limit = scalarInt(backend, numSegments);
  const aboveZero = runWasmKernel(backend, 'GreaterEqual', { a: segmentIds, b: zero });
  const belowLimit = runWasmKernel(backend, 'Less', { a: segmentIds, b: limit });
  const valid = runWasmKernel(backend, 'LogicalAnd', { a: aboveZero, b: belowLimit });
  const overflow = runWasmKernel(backend, 'Fill', {}, { shape: idsShape, value: numSegments, dtype: 'int32' });
  const routed = runWasmKernel(backend, 'Select', { condition: valid, t: segmentIds, e: overflow });
  const indices = reshape(backend, routed, [numIds, 1]);
  const updates = reshape(backend, x, [numIds, ...rowShape]);
  const scattered = runWasmKernel(backend, 'ScatterNd', { indices, updates }, { shape: [numSegments + 1, ...rowShape] });
  const out = slice(backend, scattered, outShape.map(() => 0), outShape);
  release(backend, zero, limit, aboveZero, belowLimit, valid, overflow, routed, indices, updates, scattered);
  return out;
}

export const unsortedSegmentSumConfig: KernelConfig = {
  kernelName: UnsortedSegmentSum,
  backendName: 'wasm',
  kernelFunc: unsortedSegmentSum as unknown as KernelConfig['kernelFunc'],
};
