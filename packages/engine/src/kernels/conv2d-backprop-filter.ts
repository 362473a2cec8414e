/**
 * Conv2DBackpropFilter for the wasm backend, built from its Conv2D (XNNPACK) kernel.
 *
 * dW[kh, kw, ci, co] = sum_{b, oh, ow} x[b, oh*s + kh*d - padTop, ow*s + kw*d - padLeft, ci] * dy[b, oh, ow, co]
 *
 * Read with ci as the batch, b as the input channel and (oh, ow) as the filter taps, that sum is a
 * convolution of x^T = [ci, H, W, b] with the filter dy^T = [oh, ow, b, co] whose stride is the
 * forward dilation d and whose dilation is the forward stride s. Its output [ci, kh', kw', co] is
 * the filter gradient, transposed back to [kh, kw, ci, co].
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
import { release, runWasmKernel, slice, transpose } from './wasm-ops.js';

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
  const [, outHeight, outWidth, outChannels] = dy.shape as [number, number, number, number];
  const { filterHeight, filterWidth, strideHeight, strideWidth, dilationHeight, dilationWidth, padTop, padLeft } = geometry;

  // The forward conv reads rows -padTop .. (oh-1)*s + (kh-1)*d - padTop; pad the bottom/right
  // only as far as that reach (never negative: unused trailing rows are cropped below).
  const reachHeight = (outHeight - 1) * strideHeight + (filterHeight - 1) * dilationHeight + 1;
  const reachWidth = (outWidth - 1) * strideWidth + (filterWidth - 1) * dilationWidth + 1;
  const padBottom = Math.max(0, reachHeight - padTop - inHeight);
  const padRight = Math.max(0, reachWidth - padLeft - inWidth);

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
