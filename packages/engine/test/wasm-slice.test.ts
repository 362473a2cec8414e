import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerWasmTrainingKernels } from '../src/index.js';
import { sliceConfig, splitVConfig, unpackConfig } from '../src/kernels/slice.js';
import { lcgValues } from './support/compare.js';
import { installTrainingKernels } from '../src/index.js';

// What the trainer does before training: tfjs-core's gradients and the wasm kernels.
installTrainingKernels();

beforeAll(async () => {
  registerWasmTrainingKernels();
  await tf.setBackend('wasm');
  await tf.setBackend('cpu');
});

type DType = 'float32' | 'int32' | 'bool';

function values(count: number, dtype: DType, seed: number): number[] {
  const v = Array.from(lcgValues(count, seed));
  if (dtype === 'float32') return v;
  return dtype === 'int32' ? v.map((x) => Math.round(x * 1000)) : v.map((x) => (x > 0 ? 1 : 0));
}

/** Runs `op` on a tensor of `shape` on cpu and on wasm with the engine's kernel; returns both results. */
function onBoth(shape: number[], dtype: DType, op: (x: tf.Tensor) => tf.Tensor | tf.Tensor[]): { cpu: unknown[]; wasm: unknown[] } {
  const data = values(tf.util.sizeFromShape(shape), dtype, 7);
  const run = (backend: string): unknown[] => {
    tf.setBackend(backend);
    return tf.tidy(() => {
      const out = op(tf.tensor(data, shape, dtype));
      return (Array.isArray(out) ? out : [out]).map((t) => ({ shape: t.shape, dtype: t.dtype, values: Array.from(t.dataSync()) }));
    });
  };
  return { cpu: run('cpu'), wasm: run('wasm') };
}

describe('Slice on wasm, reading the heap in place', () => {
  const cases: Array<[string, number[], number[], number[]]> = [
    ['2-D rows (one contiguous run)', [50, 10], [7, 0], [20, 10]],
    ['2-D columns (a run per row)', [50, 10], [0, 3], [50, 4]],
    ['2-D single column', [40, 4], [0, 2], [-1, 1]],
    ['4-D middle block', [3, 9, 8, 5], [1, 2, 3, 0], [2, 4, 5, 5]],
    ['4-D channel slice (runs of 3)', [2, 6, 7, 8], [0, 0, 0, 4], [2, 6, 7, 3]],
    ['4-D long runs over whole trailing dims', [4, 6, 7, 24], [1, 1, 0, 0], [2, 3, 7, 24]],
    ['1-D', [100], [33], [40]],
    ['scalar-like [1] and size -1', [5, 1], [2, 0], [-1, -1]],
    ['empty', [6, 4], [2, 1], [0, 3]],
  ];
  for (const dtype of ['float32', 'int32', 'bool'] as const) {
    it.each(cases)(`${dtype}: %s equals the cpu backend`, (_name, shape, begin, size) => {
      const { cpu, wasm } = onBoth(shape, dtype, (x) => tf.slice(x, begin, size));
      expect(wasm).toEqual(cpu);
    });
  }

  it('is the kernel registered for Slice and SplitV (registerWasmTrainingKernels)', () => {
    expect(tf.getKernel('Slice', 'wasm')?.kernelFunc).toBe(sliceConfig.kernelFunc);
    expect(tf.getKernel('SplitV', 'wasm')?.kernelFunc).toBe(splitVConfig.kernelFunc);
    expect(tf.getKernel('Unpack', 'wasm')?.kernelFunc).toBe(unpackConfig.kernelFunc);
  });
});

describe('SplitV on wasm', () => {
  const cases: Array<[string, number[], number[] | number, number]> = [
    ['[M, C] into levels along 0', [2728, 10], [2048, 512, 128, 32, 8], 0],
    ['along the last axis with -1', [30, 12], [5, -1, 4], 1],
    ['even split of a 4-D tensor along 3', [2, 5, 4, 12], 3, 3],
    ['negative axis', [6, 8, 9], [2, 7], -1],
  ];
  it.each(cases)('%s equals the cpu backend', (_name, shape, splits, axis) => {
    for (const dtype of ['float32', 'int32'] as const) {
      const { cpu, wasm } = onBoth(shape, dtype, (x) => tf.split(x, splits, axis));
      expect(wasm).toEqual(cpu);
    }
  });

  it('gives the gradient of a concat (which is a split) exactly', () => {
    const parts = [[3, 4], [5, 4], [1, 4]].map((s, i) => values(s[0]! * s[1]!, 'float32', i + 1));
    const run = (backend: string): number[][] => {
      tf.setBackend(backend);
      return tf.tidy(() => {
        const xs = parts.map((v, i) => tf.tensor2d(v, [[3, 4], [5, 4], [1, 4]][i] as [number, number]));
        const w = tf.tensor2d(values(9 * 4, 'float32', 9), [9, 4]);
        const grads = tf.grads((...ts: tf.Tensor[]) => tf.sum(tf.mul(tf.concat(ts, 0), w)))(xs);
        return grads.map((g) => Array.from(g.dataSync()));
      });
    };
    expect(run('wasm')).toEqual(run('cpu'));
  });
});

describe('Unpack on wasm', () => {
  const cases: Array<[string, number[], number]> = [
    ['[K, M, C] along 0', [9, 40, 6], 0],
    ['[N, H, W, C] along the channels', [2, 5, 4, 7], 3],
    ['[M, 4] box columns', [300, 4], 1],
    ['negative axis', [3, 4, 5], -2],
  ];
  it.each(cases)('%s equals the cpu backend, with its gradient', (_name, shape, axis) => {
    for (const dtype of ['float32', 'int32', 'bool'] as const) {
      const { cpu, wasm } = onBoth(shape, dtype, (x) => tf.unstack(x, axis));
      expect(wasm).toEqual(cpu);
    }
    const { cpu, wasm } = onBoth(shape, 'float32', (x) =>
      tf.grad((t: tf.Tensor) => tf.addN(tf.unstack(t, axis).map((p, i) => tf.sum(tf.mul(p, i + 1)))))(x),
    );
    expect(wasm).toEqual(cpu);
  });
});
