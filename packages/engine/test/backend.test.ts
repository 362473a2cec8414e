import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { afterAll, describe, expect, it } from 'vitest';
import { formatBackendChoice, initBackend } from '../src/node.js';
import { installTrainingKernels } from '../src/index.js';

const notInstalled = (specifier: string): Error =>
  Object.assign(new Error(`Cannot find package '${specifier}' imported from /x.js`), { code: 'ERR_MODULE_NOT_FOUND' });

/** Neither native package installed, as in this repository's CI. */
const withoutNative = async (specifier: string): Promise<never> => {
  throw notInstalled(specifier);
};

afterAll(async () => {
  if (tf.findBackend('tensorflow') !== null) tf.removeBackend('tensorflow');
  await tf.setBackend('cpu');
});

describe('initBackend', () => {
  it('falls back to wasm when no native backend is installed, saying why each was skipped', async () => {
    // One thread: the stock single-threaded build (wasm-threads.test.ts covers more).
    const choice = await initBackend({ env: { HPF_WASM_THREADS: '1' }, importModule: withoutNative });
    expect(choice.backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(choice.requestSource).toBe('default');
    expect(choice.skipped).toEqual([
      { package: '@tensorflow/tfjs-node-gpu', reason: 'not installed' },
      { package: '@tensorflow/tfjs-node', reason: 'not installed' },
    ]);
    expect(choice.wasm?.simd).toBe(true);
    expect(choice.wasm?.threads).toBe(1);
    // Inference needs no training kernels: choosing a backend registers none.
    expect(choice.wasm?.kernels).toEqual({ added: [], replaced: [] });
    installTrainingKernels();
    expect((await initBackend({ env: { HPF_WASM_THREADS: '1' }, importModule: withoutNative })).wasm?.kernels).toEqual({
      added: ['Conv2DBackpropFilter', 'UnsortedSegmentSum'],
      replaced: ['Conv2DBackpropInput', 'MaxPoolGrad', 'Identity', 'Cast', 'Slice', 'SplitV', 'Unpack'],
    });
    expect(formatBackendChoice(choice)).toMatch(
      /^wasm \(@tensorflow\/tfjs-backend-wasm, SIMD, 1 thread\) from default order; skipped: @tensorflow\/tfjs-node-gpu \(not installed\)/,
    );
  });

  it('uses the real dynamic import without the optional peers installed', async () => {
    const choice = await initBackend({ env: {} });
    expect(choice.backend).toBe('wasm');
    expect(choice.skipped.map((s) => s.reason)).toEqual(['not installed', 'not installed']);
  });

  it('honours HPF_BACKEND, and the prefer option over it', async () => {
    expect((await initBackend({ env: { HPF_BACKEND: 'cpu' }, importModule: withoutNative })).backend).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    const preferred = await initBackend({ prefer: 'wasm', env: { HPF_BACKEND: 'cpu' }, importModule: withoutNative });
    expect(preferred.backend).toBe('wasm');
    expect(preferred.requestSource).toBe('option');
  });

  it('is a clear error when the requested backend is not installed', async () => {
    await expect(initBackend({ env: { HPF_BACKEND: 'tensorflow-gpu' }, importModule: withoutNative })).rejects.toThrow(
      "HPF_BACKEND requested backend 'tensorflow-gpu', which cannot be used (@tensorflow/tfjs-node-gpu: not installed). Install it: npm install @tensorflow/tfjs-node-gpu",
    );
    await expect(initBackend({ prefer: 'tensorflow', importModule: withoutNative })).rejects.toThrow(
      /option 'prefer' requested backend 'tensorflow'.*tfjs-node-gpu: not installed; @tensorflow\/tfjs-node: not installed/,
    );
  });

  it('rejects unknown backend names and options', async () => {
    await expect(initBackend({ env: { HPF_BACKEND: 'webgl' } })).rejects.toThrow(
      "HPF_BACKEND='webgl' is not a backend; expected one of: auto, tensorflow, tensorflow-gpu, tensorflow-cpu, wasm, cpu",
    );
    await expect(initBackend({ backend: 'cpu' } as never)).rejects.toThrow("initBackend: unknown option 'backend'");
  });

  it('prefers tfjs-node-gpu, then tfjs-node, reporting load failures that are not "not installed"', async () => {
    // Stand-in for tfjs-node: registers a 'tensorflow' backend when imported.
    const importModule = async (specifier: string): Promise<unknown> => {
      if (specifier === '@tensorflow/tfjs-node-gpu') throw new Error('libcudart.so.11.0: cannot open shared object file');
      if (specifier === '@tensorflow/tfjs-node') {
        if (tf.findBackendFactory('tensorflow') === null) tf.registerBackend('tensorflow', () => new MathBackendCPU());
        return {};
      }
      throw notInstalled(specifier);
    };
    const choice = await initBackend({ env: {}, importModule });
    expect(choice.backend).toBe('tensorflow');
    expect(choice.package).toBe('@tensorflow/tfjs-node');
    expect(tf.getBackend()).toBe('tensorflow');
    expect(choice.skipped).toEqual([
      { package: '@tensorflow/tfjs-node-gpu', reason: 'failed to load: libcudart.so.11.0: cannot open shared object file' },
    ]);
  });
});
