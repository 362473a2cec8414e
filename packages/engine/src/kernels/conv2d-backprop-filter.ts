/**
 * Conv2DBackpropFilter for the wasm backend, built from its Conv2D (XNNPACK) kernel.
 *
 * dW[kh, kw, ci, co] = sum_{b, oh, ow} x[b, oh*s + kh*d - padTop, ow*s + kw*d - padLeft, ci] * dy[b, oh, ow, co]
 *
 * Read with ci as the batch, b as the input channel and (oh, ow) as the filter taps, that sum is a
 * convolution of x^T = [ci, H, W, b] with the filter dy^T = [oh, ow, b, co] whose stride is the
 * forward dilation d and whose dilation is the forward stride s. Its output [ci, kh', kw', co] is
 * the filter gradient, transposed back to [kh, kw, ci, co].
 *
 * XNNPACK runs that convolution well below its forward speed when the batch (its input-channel
 * count there) is small, and very slowly when the "filter" is huge and sparse (the stem conv of
 * an RGB image), so two cheaper exact forms are used where they apply:
 * - 1x1 stride-1 unpadded convs: dW = x^T dy as one matmul.
 * - few input taps (kh*kw*ci <= 64, e.g. the RGB stem): the patches [N, kh*kw*ci] are extracted
 *   by a conv with a one-hot filter (cost N*K^2, small for small K), then dW = patches^T dy.
 * tfjs-backend-wasm's BatchMatMul with transposeA is a scalar loop, hence the explicit
 * Transpose (XNNPACK) before each matmul.
 */
import {
  backend_util,
  Conv2DBackpropFilter,
  type Conv2DBackpropFilterAttrs,
  type KernelBackend,
  type KernelConfig,
  type NamedAttrMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { allocateFloat32, heapView, release, reshape, runWasmKernel, slice, transpose } from './wasm-ops.js';

/** Largest kh*kw*ci for which extracting patches by a one-hot conv beats the transposed conv. */
const MAX_PATCH_SIZE = 64;

export interface FilterGradientGeometry {
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  dilationHeight: number;
  dilationWidth: number;
  padTop: number;
  padLeft: number;
}

/**
 * Filter gradient of an NHWC conv2d; `x` is [b, H, W, ci], `dy` is [b, oh, ow, co].
 * Returns a new [kh, kw, ci, co] tensor owned by the caller.
 */
export function conv2dFilterGradient(
  backend: KernelBackend,
  x: TensorInfo,
  dy: TensorInfo,
  geometry: FilterGradientGeometry,
): TensorInfo {
  const [, inHeight, inWidth, inChannels] = x.shape as [number, number, number, number];
  const [, outHeight, outWidth] = dy.shape as [number, number, number, number];
  const { filterHeight, filterWidth, strideHeight, strideWidth, dilationHeight, dilationWidth, padTop, padLeft } = geometry;

  // The forward conv reads rows -padTop .. (oh-1)*s + (kh-1)*d - padTop; pad the bottom/right
  // only as far as that reach (never negative: unused trailing rows are cropped).
  const reachHeight = (outHeight - 1) * strideHeight + (filterHeight - 1) * dilationHeight + 1;
  const reachWidth = (outWidth - 1) * strideWidth + (filterWidth - 1) * dilationWidth + 1;
  const padBottom = Math.max(0, reachHeight - padTop - inHeight);
  const padRight = Math.max(0, reachWidth - padLeft - inWidth);
  const pads = { padTop, padBottom, padLeft, padRight };

  const pointwise =
    filterHeight === 1 && filterWidth === 1 && strideHeight === 1 && strideWidth === 1 &&
    padTop === 0 && padLeft === 0 && outHeight === inHeight && outWidth === inWidth;
  if (pointwise) return patchesGradient(backend, x, dy, [1, 1, inChannels]);
  if (filterHeight * filterWidth * inChannels <= MAX_PATCH_SIZE) {
    const patches = extractPatches(backend, x, geometry, pads, outHeight, outWidth);
    const dw = patchesGradient(backend, patches, dy, [filterHeight, filterWidth, inChannels]);
    release(backend, patches);
    return dw;
  }
  return transposedConvGradient(backend, x, dy, geometry, pads);
}

interface Pads {
  padTop: number;
  padBottom: number;
  padLeft: number;
  padRight: number;
}

/** dW = patches^T dy, with patches [b, oh, ow, kh*kw*ci] in (kh, kw, ci) order. */
function patchesGradient(backend: KernelBackend, patches: TensorInfo, dy: TensorInfo, filterDims: [number, number, number]): TensorInfo {
  const patchSize = patches.shape[3]!;
  const outChannels = dy.shape[3]!;
  const rows = patches.shape[0]! * patches.shape[1]! * patches.shape[2]!;
  const flat = reshape(backend, patches, [rows, patchSize]);
  const flatT = transpose(backend, flat, [1, 0]);
  const dyFlat = reshape(backend, dy, [rows, outChannels]);
  const product = runWasmKernel(backend, 'BatchMatMul', { a: flatT, b: dyFlat }, { transposeA: false, transposeB: false });
  const dw = reshape(backend, product, [...filterDims, outChannels]);
  release(backend, flat, flatT, dyFlat, product);
  return dw;
}

/** [b, oh, ow, kh*kw*ci] patches of x, read by a conv with a one-hot [kh, kw, ci, kh*kw*ci] filter. */
function extractPatches(
  backend: KernelBackend,
  x: TensorInfo,
  geometry: FilterGradientGeometry,
  pads: Pads,
  outHeight: number,
  outWidth: number,
): TensorInfo {
  const { filterHeight, filterWidth, strideHeight, strideWidth, dilationHeight, dilationWidth } = geometry;
  const inChannels = x.shape[3]!;
  const patchSize = filterHeight * filterWidth * inChannels;
  const oneHot = allocateFloat32(backend, [filterHeight, filterWidth, inChannels, patchSize]);
  const values = heapView(backend, oneHot);
  values.fill(0);
  for (let i = 0; i < patchSize; i++) values[i * patchSize + i] = 1;
  const patches = runWasmKernel(backend, 'Conv2D', { x, filter: oneHot }, {
    strides: [strideHeight, strideWidth],
    dilations: [dilationHeight, dilationWidth],
    pad: [
      [0, 0],
      [pads.padTop, pads.padBottom],
      [pads.padLeft, pads.padRight],
      [0, 0],
    ],
    dataFormat: 'NHWC',
  });
  release(backend, oneHot);
  if (patches.shape[1] === outHeight && patches.shape[2] === outWidth) return patches;
  const cropped = slice(backend, patches, [0, 0, 0, 0], [x.shape[0]!, outHeight, outWidth, patchSize]);
  release(backend, patches);
  return cropped;
}

function transposedConvGradient(
  backend: KernelBackend,
  x: TensorInfo,
  dy: TensorInfo,
  geometry: FilterGradientGeometry,
  { padTop, padBottom, padLeft, padRight }: Pads,
): TensorInfo {
  const inChannels = x.shape[3]!;
  const outChannels = dy.shape[3]!;
  const { filterHeight, filterWidth, strideHeight, strideWidth, dilationHeight, dilationWidth } = geometry;

  const xT = transpose(backend, x, [3, 1, 2, 0]);
  const dyT = transpose(backend, dy, [1, 2, 0, 3]);
  const attrs: NamedAttrMap = {
    strides: [dilationHeight, dilationWidth],
    dilations: [strideHeight, strideWidth],
    pad: [
      [0, 0],
      [padTop, padBottom],
      [padLeft, padRight],
      [0, 0],
    ],
    dataFormat: 'NHWC',
  };
  const conv = runWasmKernel(backend, 'Conv2D', { x: xT, filter: dyT }, attrs);
  release(backend, xT, dyT);

  let cropped = conv;
  const [, convHeight, convWidth] = conv.shape as [number, number, number, number];
  if (convHeight !== filterHeight || convWidth !== filterWidth) {
    cropped = slice(backend, conv, [0, 0, 0, 0], [inChannels, filterHeight, filterWidth, outChannels]);
    release(backend, conv);
  }
  const dw = transpose(backend, cropped, [1, 2, 0, 3]);
  release(backend, cropped);
  return dw;
}

function conv2dBackpropFilter(args: { inputs: { x: TensorInfo; dy: TensorInfo }; backend: KernelBackend; attrs: NamedAttrMap }): TensorInfo {
  const { x, dy } = args.inputs;
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = args.attrs as unknown as Conv2DBackpropFilterAttrs;
  const format = backend_util.convertConv2DDataFormat(dataFormat);
  if (format !== 'channelsLast') {
    throw new Error(`@hpf/engine: wasm Conv2DBackpropFilter supports dataFormat 'NHWC' only, got '${dataFormat}'`);
  }
  if (x.dtype !== 'float32' || dy.dtype !== 'float32') {
    throw new Error(`@hpf/engine: wasm Conv2DBackpropFilter needs float32 x and dy, got ${x.dtype} and ${dy.dtype}`);
  }
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    format,
  );
  return conv2dFilterGradient(args.backend, x, dy, {
    filterHeight: info.filterHeight,
    filterWidth: info.filterWidth,
    strideHeight: info.strideHeight,
    strideWidth: info.strideWidth,
    dilationHeight: info.dilationHeight,
    dilationWidth: info.dilationWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  });
}

export const conv2dBackpropFilterConfig: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2dBackpropFilter as unknown as KernelConfig['kernelFunc'],
};
