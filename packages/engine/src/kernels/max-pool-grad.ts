/**
 * MaxPoolGrad for the wasm backend: dx[argmax of each pooling window] += dy, with the argmax the
 * first maximum in row-major window order (strict >, padding never wins), as tfjs-backend-cpu.
 *
 * tfjs-backend-wasm 4.22's kernel visits every input position and re-derives the maximum of each
 * window covering it; for the backbones' 3x3 stride-2 stem pool over [8, 64, 64, 16] that took
 * ~23 ms, 4.5% of an ATSS training step. One pass over the output windows, with a per-channel
 * running maximum (NHWC keeps channels contiguous), reads each window once. It runs as a JS loop
 * on the wasm heap: no wasm kernel computes an argmax-scatter in one call.
 */
import {
  backend_util,
  type KernelBackend,
  type KernelConfig,
  MaxPoolGrad,
  type MaxPoolGradAttrs,
  type NamedAttrMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { allocateFloat32, heapView } from './wasm-ops.js';

function maxPoolGrad(args: { inputs: { dy: TensorInfo; input: TensorInfo }; backend: KernelBackend; attrs: NamedAttrMap }): TensorInfo {
  const { backend } = args;
  const { dy, input } = args.inputs;
  const { filterSize, strides, pad, dimRoundingMode } = args.attrs as unknown as MaxPoolGradAttrs;
  if (dy.dtype !== 'float32' || input.dtype !== 'float32') {
    throw new Error(`@hpf/engine: wasm MaxPoolGrad needs float32 dy and input, got ${dy.dtype} and ${input.dtype}`);
  }
  const info = backend_util.computePool2DInfo(input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
  const { batchSize, inHeight, inWidth, inChannels: channels, outHeight, outWidth, strideHeight, strideWidth } = info;
  const { effectiveFilterHeight: fh, effectiveFilterWidth: fw } = info;
  const { top, left } = info.padInfo;

  const out = allocateFloat32(backend, input.shape);
  // Views after the allocation: growing the heap detaches earlier ones.
  const dx = heapView(backend, out);
  const x = heapView(backend, input);
  const g = heapView(backend, dy);
  dx.fill(0);
  const best = new Float32Array(channels);
  const where = new Int32Array(channels);
  for (let b = 0; b < batchSize; b++) {
    const imageBase = b * inHeight * inWidth * channels;
    for (let oh = 0; oh < outHeight; oh++) {
      const h0 = oh * strideHeight - top;
      const hStart = Math.max(0, h0);
      const hEnd = Math.min(inHeight, h0 + fh);
      for (let ow = 0; ow < outWidth; ow++) {
        const w0 = ow * strideWidth - left;
        const wStart = Math.max(0, w0);
        const wEnd = Math.min(inWidth, w0 + fw);
        best.fill(Number.NEGATIVE_INFINITY);
        where.fill(-1);
        for (let h = hStart; h < hEnd; h++) {
          for (let w = wStart; w < wEnd; w++) {
            const base = imageBase + (h * inWidth + w) * channels;
            for (let c = 0; c < channels; c++) {
              const v = x[base + c]!;
              if (v > best[c]!) {
                best[c] = v;
                where[c] = base + c;
              }
            }
          }
        }
        const dyBase = ((b * outHeight + oh) * outWidth + ow) * channels;
        for (let c = 0; c < channels; c++) {
          const at = where[c]!;
          if (at >= 0) dx[at] = dx[at]! + g[dyBase + c]!;
        }
      }
    }
  }
  return out;
}

export const maxPoolGradConfig: KernelConfig = {
  kernelName: MaxPoolGrad,
  backendName: 'wasm',
  kernelFunc: maxPoolGrad as unknown as KernelConfig['kernelFunc'],
};
