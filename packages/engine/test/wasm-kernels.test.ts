import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerWasmTrainingKernels } from '../src/index.js';
import { conv2dFilterGradient } from '../src/kernels/conv2d-backprop-filter.js';
import { lcgValues, relativeError, runKernelOn } from './support/compare.js';

beforeAll(async () => {
  registerWasmTrainingKernels();
  await tf.setBackend('wasm');
  await tf.setBackend('cpu');
});

interface ConvCase {
  name: string;
  inShape: [number, number, number, number];
  filterShape: [number, number, number, number];
  strides: number | [number, number];
  pad: 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];
}

const convCases: ConvCase[] = [
  { name: '3x3 stride 1 same odd', inShape: [2, 7, 7, 3], filterShape: [3, 3, 3, 4], strides: 1, pad: 'same' },
  { name: '3x3 stride 1 same even', inShape: [2, 8, 8, 3], filterShape: [3, 3, 3, 4], strides: 1, pad: 'same' },
  { name: '3x3 stride 2 same odd', inShape: [2, 9, 9, 5], filterShape: [3, 3, 5, 6], strides: 2, pad: 'same' },
  { name: '3x3 stride 2 same even (asymmetric pad)', inShape: [3, 8, 10, 4], filterShape: [3, 3, 4, 5], strides: 2, pad: 'same' },
  { name: '3x3 stride 1 valid', inShape: [2, 7, 6, 3], filterShape: [3, 3, 3, 2], strides: 1, pad: 'valid' },
  { name: '3x3 stride 2 valid even (unused last row)', inShape: [2, 8, 8, 3], filterShape: [3, 3, 3, 4], strides: 2, pad: 'valid' },
  { name: '1x1 stride 1', inShape: [2, 6, 5, 8], filterShape: [1, 1, 8, 7], strides: 1, pad: 'same' },
  { name: '1x1 stride 2 valid', inShape: [2, 7, 8, 4], filterShape: [1, 1, 4, 3], strides: 2, pad: 'valid' },
  { name: '2x3 filter, strides [2, 1], same', inShape: [1, 9, 6, 2], filterShape: [2, 3, 2, 3], strides: [2, 1], pad: 'same' },
  { name: '3x3 stride 2 explicit pad', inShape: [2, 8, 7, 3], filterShape: [3, 3, 3, 2], strides: 2, pad: [[0, 0], [1, 2], [0, 1], [0, 0]] },
  { name: '5x5 stride 1 numeric pad 1', inShape: [1, 9, 9, 2], filterShape: [5, 5, 2, 3], strides: 1, pad: 1 },
];

const stride3Cases: ConvCase[] = [
  { name: '3x3 stride 3 same', inShape: [2, 10, 11, 4], filterShape: [3, 3, 4, 5], strides: 3, pad: 'same' },
  { name: '5x5 stride 2 same odd', inShape: [1, 11, 11, 3], filterShape: [5, 5, 3, 4], strides: 2, pad: 'same' },
  { name: '4x4 stride 2 valid', inShape: [2, 10, 9, 3], filterShape: [4, 4, 3, 2], strides: 2, pad: 'valid' },
];

// The filter gradient picks its formulation by filter size (see conv2d-backprop-filter.ts); the
// wide-channel copies of the cases take the transposed-conv path, the narrow ones the patch path.
const wideCases: ConvCase[] = convCases.map((c) => ({
  ...c,
  name: `${c.name}, 24 input channels`,
  inShape: [c.inShape[0], c.inShape[1], c.inShape[2], 24],
  filterShape: [c.filterShape[0], c.filterShape[1], 24, c.filterShape[3]],
}));

describe('Conv2DBackpropFilter on wasm', () => {
  it.each([...convCases, ...stride3Cases, ...wideCases])('matches the cpu backend: $name', async ({ inShape, filterShape, strides, pad }) => {
    const info = tf.backend_util.computeConv2DInfo(inShape, filterShape, strides, 1, pad);
    const x = { values: lcgValues(tf.util.sizeFromShape(inShape), 11), shape: inShape };
    const dy = { values: lcgValues(tf.util.sizeFromShape(info.outShape), 23), shape: info.outShape };
    const attrs = { strides, pad, dataFormat: 'NHWC', filterShape };
    const cpu = await runKernelOn('cpu', 'Conv2DBackpropFilter', { x, dy }, attrs);
    const wasm = await runKernelOn('wasm', 'Conv2DBackpropFilter', { x, dy }, attrs);
    expect(wasm.shape).toEqual(filterShape);
    expect(relativeError(wasm.values, cpu.values)).toBeLessThanOrEqual(1e-4);
  });

  // Conv2DBackpropFilter has no dilation attribute (tfjs refuses conv2d gradients with
  // dilation), so the dilated path of the builder is checked against a float64 loop instead.
  it.each([
    { dilation: 2, stride: 1, size: 9, pad: 2, ci: 3 },
    { dilation: 3, stride: 1, size: 10, pad: 0, ci: 3 },
    { dilation: 2, stride: 1, size: 9, pad: 2, ci: 12 },
    { dilation: 3, stride: 1, size: 11, pad: 1, ci: 12 },
  ])('dilated filter gradient (d=$dilation, ci=$ci) matches a float64 reference', async ({ dilation, stride, size, pad, ci }) => {
    await tf.setBackend('wasm');
    const [b, co, k] = [2, 4, 3];
    const outSize = Math.floor((size + 2 * pad - (k - 1) * dilation - 1) / stride) + 1;
    const xv = lcgValues(b * size * size * ci, 5);
    const dyv = lcgValues(b * outSize * outSize * co, 7);
    const expected = new Float64Array(k * k * ci * co);
    for (let kh = 0; kh < k; kh++)
      for (let kw = 0; kw < k; kw++)
        for (let c = 0; c < ci; c++)
          for (let o = 0; o < co; o++) {
            let sum = 0;
            for (let n = 0; n < b; n++)
              for (let oh = 0; oh < outSize; oh++)
                for (let ow = 0; ow < outSize; ow++) {
                  const h = oh * stride + kh * dilation - pad;
                  const w = ow * stride + kw * dilation - pad;
                  if (h < 0 || h >= size || w < 0 || w >= size) continue;
                  sum += xv[((n * size + h) * size + w) * ci + c]! * dyv[((n * outSize + oh) * outSize + ow) * co + o]!;
                }
            expected[((kh * k + kw) * ci + c) * co + o] = sum;
          }
    const x = tf.tensor4d(xv, [b, size, size, ci]);
    const dy = tf.tensor4d(dyv, [b, outSize, outSize, co]);
    const backend = tf.backend();
    const info = conv2dFilterGradient(backend, x, dy, {
      filterHeight: k,
      filterWidth: k,
      strideHeight: stride,
      strideWidth: stride,
      dilationHeight: dilation,
      dilationWidth: dilation,
      padTop: pad,
      padLeft: pad,
    });
    const dw = tf.engine().makeTensorFromTensorInfo(info);
    expect(dw.shape).toEqual([k, k, ci, co]);
    expect(relativeError(dw.dataSync(), expected)).toBeLessThanOrEqual(1e-4);
    tf.dispose([x, dy, dw]);
  });

  it('rejects NCHW', async () => {
    await tf.setBackend('wasm');
    const x = tf.zeros([1, 2, 4, 4]);
    const dy = tf.zeros([1, 2, 4, 4]);
    expect(() =>
      tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: 1, pad: 'same', dataFormat: 'NCHW', filterShape: [3, 3, 2, 2] }),
    ).toThrow(/NHWC/);
    tf.dispose([x, dy]);
  });
});


describe('Conv2DBackpropInput on wasm (XNNPACK-based replacement)', () => {
  it.each([...convCases, ...stride3Cases])('matches the cpu backend: $name', async ({ inShape, filterShape, strides, pad }) => {
    const info = tf.backend_util.computeConv2DInfo(inShape, filterShape, strides, 1, pad);
    const dy = { values: lcgValues(tf.util.sizeFromShape(info.outShape), 31), shape: info.outShape };
    const filter = { values: lcgValues(tf.util.sizeFromShape(filterShape), 37), shape: filterShape };
    const attrs = { strides, pad, dataFormat: 'NHWC', inputShape: inShape };
    const cpu = await runKernelOn('cpu', 'Conv2DBackpropInput', { dy, filter }, attrs);
    const wasm = await runKernelOn('wasm', 'Conv2DBackpropInput', { dy, filter }, attrs);
    expect(wasm.shape).toEqual(inShape);
    expect(relativeError(wasm.values, cpu.values)).toBeLessThanOrEqual(1e-4);
  });
});

describe('registerWasmTrainingKernels', () => {
  it('can put the native Conv2DBackpropInput back and replace it again', () => {
    const engineKernel = tf.getKernel('Conv2DBackpropInput', 'wasm')!.kernelFunc;
    expect(registerWasmTrainingKernels({ replaceSlowKernels: false }).replaced).toEqual([]);
    const native = tf.getKernel('Conv2DBackpropInput', 'wasm')!.kernelFunc;
    expect(native).not.toBe(engineKernel);
    expect(registerWasmTrainingKernels()).toEqual({
      added: ['Conv2DBackpropFilter', 'UnsortedSegmentSum'],
      replaced: ['Conv2DBackpropInput'],
    });
    expect(tf.getKernel('Conv2DBackpropInput', 'wasm')!.kernelFunc).toBe(engineKernel);
    expect(() => registerWasmTrainingKernels({ replace: true } as never)).toThrow(/unknown option 'replace'/);
  });
});

describe('UnsortedSegmentSum on wasm', () => {
  const ids = (n: number, lo: number, hi: number, seed: number): Int32Array =>
    Int32Array.from(lcgValues(n, seed), (v) => lo + Math.floor(((v + 1) / 2) * (hi - lo)));

  it.each([
    { name: 'rows of 3, duplicates', xShape: [40, 3], numSegments: 7, lo: 0, hi: 7 },
    { name: 'vector', xShape: [25], numSegments: 5, lo: 0, hi: 5 },
    { name: 'out-of-range ids dropped', xShape: [30, 2, 2], numSegments: 6, lo: -3, hi: 9 },
    { name: 'many segments, few ids', xShape: [12, 4], numSegments: 500, lo: 0, hi: 500 },
  ])('matches the cpu backend: $name', async ({ xShape, numSegments, lo, hi }) => {
    const x = { values: lcgValues(tf.util.sizeFromShape(xShape), 3), shape: xShape };
    const segmentIds = { values: ids(xShape[0]!, lo, hi, 9), shape: [xShape[0]!] };
    const cpu = await runKernelOn('cpu', 'UnsortedSegmentSum', { x, segmentIds }, { numSegments });
    const wasm = await runKernelOn('wasm', 'UnsortedSegmentSum', { x, segmentIds }, { numSegments });
    expect(wasm.shape).toEqual([numSegments, ...xShape.slice(1)]);
    expect(relativeError(wasm.values, cpu.values)).toBeLessThanOrEqual(1e-6);
  });

  it('sums int32 values exactly', async () => {
    const x = { values: Int32Array.from([1, 2, 3, 4, 5, 6]), shape: [6] };
    const segmentIds = { values: Int32Array.from([2, 0, 2, 1, 2, 0]), shape: [6] };
    const wasm = await runKernelOn('wasm', 'UnsortedSegmentSum', { x, segmentIds }, { numSegments: 3 });
    expect(Array.from(wasm.values)).toEqual([8, 4, 9]);
  });

  it('gives the gradient of gather, as on cpu', async () => {
    const grad = async (backend: string): Promise<Float32Array> => {
      await tf.setBackend(backend);
      return tf.tidy(() => {
        const table = tf.tensor2d(lcgValues(20 * 3, 4), [20, 3]);
        const indices = tf.tensor1d([3, 7, 3, 19, 0, 7, 7], 'int32');
        const g = tf.grad((t: tf.Tensor) => tf.sum(tf.square(tf.gather(t, indices))))(table);
        return g.dataSync() as Float32Array;
      });
    };
    expect(relativeError(await grad('wasm'), await grad('cpu'))).toBeLessThanOrEqual(1e-6);
  });
});
