/**
 * Slice and SplitV for the wasm backend that read the input where it lies on the heap.
 *
 * tfjs-backend-wasm 4.22's Slice starts with `backend.readSync(x)`, which copies the WHOLE input
 * off the heap, for every call; SplitV calls that Slice once per output. So splitting the [M, C]
 * classification scores of a RetinaNet batch into its five levels copies the 24 552 x 10 input
 * five times (3-4 ms, where the Concat that built it costs 0.3 ms), and each gradient of a concat
 * is such a split. Unpack (tf.unstack) does the same per output: quadratic in the number of outputs
 * (VFNet's deformable-convolution plan spent ~270 ms of a training step in it). Here the input is a view of the heap and only the selected elements are copied:
 * one `set` per contiguous run (a run is the innermost sliced dimension times everything after it,
 * when those later dimensions are taken whole). Values are copied, never computed, so results are
 * identical to the native kernels'. String tensors go to the native kernels.
 */
import {
  backend_util,
  slice_util,
  Slice,
  SplitV,
  Unpack,
  util,
  type KernelBackend,
  type KernelConfig,
  type NamedAttrMap,
  type SliceAttrs,
  type SplitVAttrs,
  type UnpackAttrs,
  type TensorInfo,
  type TypedArray,
} from '@tensorflow/tfjs-core';
import { nativeWasmKernel } from './wasm-ops.js';

interface WasmTypedHeap {
  makeOutput(shape: number[], dtype: TensorInfo['dtype']): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): TypedArray;
}

/** Runs shorter than this are copied element by element (a subarray per run costs more). */
const SHORT_RUN = 16;

/** Copies x[begin : begin + size] (begin, size normalised, same rank as x) into a new tensor. */
export function sliceOnHeap(backend: KernelBackend, x: TensorInfo, begin: number[], size: number[]): TensorInfo {
  const heap = backend as unknown as WasmTypedHeap;
  const out = heap.makeOutput(size, x.dtype);
  const total = util.sizeFromShape(size);
  if (total === 0) return out;
  // Views after the allocation: growing the heap detaches earlier ones.
  const dst = heap.typedArrayFromHeap(out);
  const src = heap.typedArrayFromHeap(x);
  const rank = x.shape.length;
  const strides = [...util.computeStrides(x.shape), 1];
  // The run: from dimension `k` on, the slice is one contiguous block of the input.
  let k = rank - 1;
  while (k > 0 && size[k] === x.shape[k]) k--;
  const run = size[k]! * strides[k]!;
  const base = begin.reduce((acc, b, d) => acc + b * strides[d]!, 0);
  const outer = size.slice(0, k);
  const index = new Array<number>(k).fill(0);
  for (let written = 0; written < total; written += run) {
    let offset = base;
    for (let d = 0; d < k; d++) offset += index[d]! * strides[d]!;
    if (run >= SHORT_RUN) dst.set(src.subarray(offset, offset + run), written);
    else for (let i = 0; i < run; i++) dst[written + i] = src[offset + i]!;
    // Odometer over the outer dimensions, last fastest.
    for (let d = k - 1; d >= 0; d--) {
      if (++index[d]! < outer[d]!) break;
      index[d] = 0;
    }
  }
  return out;
}

function slice(args: { inputs: { x: TensorInfo }; backend: KernelBackend; attrs: NamedAttrMap }): TensorInfo {
  const { x } = args.inputs;
  if (x.dtype === 'string') return nativeWasmKernel(Slice)(args) as TensorInfo;
  const { begin, size } = args.attrs as unknown as SliceAttrs;
  const [b, s] = slice_util.parseSliceParams(x as never, begin, size) as [number[], number[]];
  return sliceOnHeap(args.backend, x, b, s);
}

function splitV(args: { inputs: { x: TensorInfo }; backend: KernelBackend; attrs: NamedAttrMap }): TensorInfo[] {
  const { x } = args.inputs;
  if (x.dtype === 'string') return nativeWasmKernel(SplitV)(args) as TensorInfo[];
  const { numOrSizeSplits, axis } = args.attrs as unknown as SplitVAttrs;
  const $axis = util.parseAxisParam(axis, x.shape)[0]!;
  const splitSizes = backend_util.prepareSplitSize(x as never, numOrSizeSplits, $axis);
  const begin = new Array<number>(x.shape.length).fill(0);
  const size = [...x.shape];
  return splitSizes.map((s) => {
    size[$axis] = s;
    const part = sliceOnHeap(args.backend, x, [...begin], [...size]);
    begin[$axis] = begin[$axis]! + s;
    return part;
  });
}

function unpack(args: { inputs: { value: TensorInfo }; backend: KernelBackend; attrs: NamedAttrMap }): TensorInfo[] {
  const { value } = args.inputs;
  if (value.dtype === 'string') return nativeWasmKernel(Unpack)(args) as TensorInfo[];
  const { axis } = args.attrs as unknown as UnpackAttrs;
  const $axis = util.parseAxisParam(axis, value.shape)[0]!;
  const outShape = value.shape.filter((_, d) => d !== $axis);
  const begin = new Array<number>(value.shape.length).fill(0);
  const size = [...value.shape];
  size[$axis] = 1;
  return Array.from({ length: value.shape[$axis]! }, (_, i) => {
    begin[$axis] = i;
    const part = sliceOnHeap(args.backend, value, [...begin], size);
    // The slice's buffer holds exactly the output's elements; only the shape drops the axis.
    return { dataId: part.dataId, dtype: part.dtype, shape: outShape };
  });
}

export const sliceConfig: KernelConfig = {
  kernelName: Slice,
  backendName: 'wasm',
  kernelFunc: slice as unknown as KernelConfig['kernelFunc'],
};

export const splitVConfig: KernelConfig = {
  kernelName: SplitV,
  backendName: 'wasm',
  kernelFunc: splitV as unknown as KernelConfig['kernelFunc'],
};

export const unpackConfig: KernelConfig = {
  kernelName: Unpack,
  backendName: 'wasm',
  kernelFunc: unpack as unknown as KernelConfig['kernelFunc'],
};
