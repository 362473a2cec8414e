/**
 * Conv2DBackpropInput for the wasm backend, built from its Conv2D (XNNPACK) kernel. The one that
 * tfjs-backend-wasm 4.22 ships is a scalar C++ loop, several times slower than the forward conv.
 *
 * dx[b, h, w, ci] = sum dy[b, oh, ow, co] * W[kh, kw, ci, co] over oh*s + kh - padTop = h (and
 * likewise for w). Split the padded row p = h + padTop by phase r = p mod s, p = m*s + r: then
 * kh = r + j*s and oh = m - j, so each phase is a stride-1 correlation of dy with the sub-filter
 * W[r::s] flipped. All s*s phases run as ONE conv whose output channels are (rh, rw, ci): the
 * sub-filters are zero-padded to the longest one (T = ceil(k/s) taps). The phases are then
 * interleaved by Reshape + Transpose (no zero-inserted dy, so at most T^2 s^2 / k^2 of the exact
 * multiplies: 16/9 for a 3x3 stride-2 conv, exact for stride 1).
 *
 * The combined filter (a few hundred KB at most) is laid out by a JS loop directly on the wasm
 * heap: tfjs-backend-wasm's StridedSlice/Reverse kernels are per-element index loops that cost
 * more than that here. Activations only ever go through wasm kernels.
 */
import {
  backend_util,
  Conv2DBackpropInput,
  type Conv2DBackpropInputAttrs,
  type KernelBackend,
  type KernelConfig,
  type NamedAttrMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { allocateFloat32, heapView, release, reshape, runWasmKernel, slice, transpose } from './wasm-ops.js';

export interface InputGradientGeometry {
  inHeight: number;
  inWidth: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  padTop: number;
  padLeft: number;
}

/**
 * [T_h, T_w, co, s_h * s_w * ci] with F[a, b, o, (rh*s_w + rw)*ci + c] = W[rh + (T_h-1-a)*s_h,
 * rw + (T_w-1-b)*s_w, c, o] where that tap exists, else 0.
 */
function phaseFilter(backend: KernelBackend, filter: TensorInfo, strideHeight: number, strideWidth: number): TensorInfo {
  const [kh, kw, ci, co] = filter.shape as [number, number, number, number];
  const th = Math.ceil(kh / strideHeight);
  const tw = Math.ceil(kw / strideWidth);
  const phases = strideHeight * strideWidth;
  const outChannels = phases * ci;
  const out = allocateFloat32(backend, [th, tw, co, outChannels]);
  const dst = heapView(backend, out);
  const src = heapView(backend, filter);
  dst.fill(0);
  for (let a = 0; a < th; a++) {
    for (let rh = 0; rh < strideHeight; rh++) {
      const y = rh + (th - 1 - a) * strideHeight;
      if (y >= kh) continue;
      for (let b = 0; b < tw; b++) {
        for (let rw = 0; rw < strideWidth; rw++) {
          const x = rw + (tw - 1 - b) * strideWidth;
          if (x >= kw) continue;
          const srcBase = (y * kw + x) * ci * co;
          const dstBase = (a * tw + b) * co * outChannels + (rh * strideWidth + rw) * ci;
          for (let c = 0; c < ci; c++) {
            for (let o = 0; o < co; o++) dst[dstBase + o * outChannels + c] = src[srcBase + c * co + o]!;
          }
        }
      }
    }
  }
  return out;
}

/**
 * Input gradient of an NHWC conv2d (dilation 1); `dy` is [b, oh, ow, co], `filter` is
 * [kh, kw, ci, co]. Returns a new [b, inHeight, inWidth, ci] tensor owned by the caller.
 */
export function conv2dInputGradient(
  backend: KernelBackend,
  dy: TensorInfo,
  filter: TensorInfo,
  geometry: InputGradientGeometry,
): TensorInfo {
  const { inHeight, inWidth, filterHeight, filterWidth, strideHeight, strideWidth, padTop, padLeft } = geometry;
  const [batch, outHeight, outWidth] = dy.shape as [number, number, number, number];
  const inChannels = filter.shape[2]!;
  const th = Math.ceil(filterHeight / strideHeight);
  const tw = Math.ceil(filterWidth / strideWidth);

  // Phase rows m start at m0 = floor(padTop / s): the interleaved rows then start at padded row
  // m0*s, so only padTop mod s rows are cropped off the top.
  const m0h = Math.floor(padTop / strideHeight);
  const m0w = Math.floor(padLeft / strideWidth);
  const cropTop = padTop - m0h * strideHeight;
  const cropLeft = padLeft - m0w * strideWidth;
  const rows = Math.ceil((inHeight + cropTop) / strideHeight);
  const cols = Math.ceil((inWidth + cropLeft) / strideWidth);
  const top = th - 1 - m0h;
  const left = tw - 1 - m0w;
  const bottom = rows - outHeight - top + th - 1;
  const right = cols - outWidth - left + tw - 1;

  const combined = phaseFilter(backend, filter, strideHeight, strideWidth);
  const conv = runWasmKernel(backend, 'Conv2D', { x: dy, filter: combined }, {
    strides: [1, 1],
    dilations: [1, 1],
    pad: [
      [0, 0],
      [Math.max(0, top), Math.max(0, bottom)],
      [Math.max(0, left), Math.max(0, right)],
      [0, 0],
    ],
    dataFormat: 'NHWC',
  });
  release(backend, combined);
  let phased = conv;
  if (top < 0 || bottom < 0 || left < 0 || right < 0) {
    // Padding wider than the filter reach: the conv cannot take negative padding, crop instead.
    phased = slice(backend, conv, [0, Math.max(0, -top), Math.max(0, -left), 0], [batch, rows, cols, conv.shape[3]!]);
    release(backend, conv);
  }

  let interleaved = phased;
  if (strideHeight > 1 || strideWidth > 1) {
    const split = reshape(backend, phased, [batch, rows, cols, strideHeight, strideWidth, inChannels]);
    const moved = transpose(backend, split, [0, 1, 3, 2, 4, 5]);
    interleaved = reshape(backend, moved, [batch, rows * strideHeight, cols * strideWidth, inChannels]);
    release(backend, phased, split, moved);
  }
  const [, fullHeight, fullWidth] = interleaved.shape as [number, number, number, number];
  if (cropTop === 0 && cropLeft === 0 && fullHeight === inHeight && fullWidth === inWidth) return interleaved;
  const dx = slice(backend, interleaved, [0, cropTop, cropLeft, 0], [batch, inHeight, inWidth, inChannels]);
  release(backend, interleaved);
  return dx;
}

function conv2dBackpropInput(args: { inputs: { dy: TensorInfo; filter: TensorInfo }; backend: KernelBackend; attrs: NamedAttrMap }): TensorInfo {
  const { dy, filter } = args.inputs;
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = args.attrs as unknown as Conv2DBackpropInputAttrs;
  const format = backend_util.convertConv2DDataFormat(dataFormat);
  if (format !== 'channelsLast') {
    throw new Error(`@hpf/engine: wasm Conv2DBackpropInput supports dataFormat 'NHWC' only, got '${dataFormat}'`);
  }
  if (dy.dtype !== 'float32' || filter.dtype !== 'float32') {
    throw new Error(`@hpf/engine: wasm Conv2DBackpropInput needs float32 dy and filter, got ${dy.dtype} and ${filter.dtype}`);
  }
  const info = backend_util.computeConv2DInfo(
    inputShape,
    filter.shape as [number, number, number, number],
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    format,
  );
  return conv2dInputGradient(args.backend, dy, filter, {
    inHeight: info.inHeight,
    inWidth: info.inWidth,
    filterHeight: info.filterHeight,
    filterWidth: info.filterWidth,
    strideHeight: info.strideHeight,
    strideWidth: info.strideWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  });
}

export const conv2dBackpropInputConfig: KernelConfig = {
  kernelName: Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc: conv2dBackpropInput as unknown as KernelConfig['kernelFunc'],
};
