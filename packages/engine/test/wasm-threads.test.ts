// The multi-threaded wasm build. This file owns its process's wasm backend (vitest isolates test
// files): it starts it with 2 threads before anything else touches it.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatBackendChoice, initBackend, resolveWasmThreads, type BackendChoice } from '../src/node.js';
import { installTrainingKernels } from '../src/index.js';
import { createConvNet, makeBatch } from './support/conv-net.js';

const withoutNative = async (specifier: string): Promise<never> => {
  throw Object.assign(new Error(`Cannot find package '${specifier}'`), { code: 'ERR_MODULE_NOT_FOUND' });
};

let choice: BackendChoice;
beforeAll(async () => {
  choice = await initBackend({ prefer: 'wasm', threads: 2, env: {}, importModule: withoutNative });
  // The gradient and training tests below need the training set-up (the backend alone registers none).
  installTrainingKernels();
});
afterAll(async () => {
  await tf.setBackend('cpu');
});

function onBackend<T>(name: string, fn: () => T): T {
  const before = tf.getBackend();
  tf.setBackend(name);
  try {
    return fn();
  } finally {
    tf.setBackend(before);
  }
}

describe('threaded wasm backend', () => {
  it('runs XNNPACK on 2 threads and says so', () => {
    expect(choice.backend).toBe('wasm');
    expect(choice.wasm).toMatchObject({ simd: true, multithread: true, threads: 2, threadsRequested: 2 });
    expect(formatBackendChoice(choice)).toMatch(/^wasm \(@tensorflow\/tfjs-backend-wasm, SIMD, 2 threads\) from option=wasm/);
  });

  it('computes convolutions, their gradients and matmuls as the cpu backend does', () => {
    const x = tf.randomNormal([2, 17, 19, 12], 0, 1, 'float32', 1) as tf.Tensor4D;
    const w = tf.randomNormal([3, 3, 12, 24], 0, 0.2, 'float32', 2) as tf.Tensor4D;
    const a = tf.randomNormal([70, 130], 0, 1, 'float32', 3) as tf.Tensor2D;
    const b = tf.randomNormal([130, 90], 0, 1, 'float32', 4) as tf.Tensor2D;
    const run = (): number[][] =>
      tf.tidy(() => {
        const f = (xx: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.square(tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, 2, 'same')));
        const [dx, dw] = tf.grads(f)([x, w]);
        return [tf.conv2d(x, w, 1, 'same'), dx!, dw!, tf.matMul(a, b)].map((t) => Array.from(t.dataSync()));
      });
    const threaded = run();
    const reference = onBackend('cpu', run);
    for (let i = 0; i < threaded.length; i++) {
      const ref = reference[i]!;
      const scale = Math.max(...ref.map(Math.abs));
      const maxErr = Math.max(...threaded[i]!.map((v, j) => Math.abs(v - ref[j]!)));
      expect(maxErr / scale, `output ${i}`).toBeLessThan(1e-5);
    }
    tf.dispose([x, w, a, b]);
  });

  it('trains a conv net: loss falls, tensors and wasm buffers stay flat', () => {
    const net = createConvNet({ stemChannels: [8, 16, 16, 16, 16], fpnChannels: 16, numOutputs: 4, groups: 4, seed: 3 });
    const { images, targets, positives } = makeBatch(net, 2, 64, 5);
    const optimizer = tf.train.momentum(0.05, 0.9);
    const losses: number[] = [];
    const counts: string[] = [];
    for (let step = 0; step < 12; step++) {
      const loss = optimizer.minimize(() => net.loss(images, targets, positives), true, net.variables)!;
      losses.push(loss.dataSync()[0]!);
      loss.dispose();
      counts.push(`${tf.memory().numTensors}/${tf.backend().numDataIds()}`);
    }
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[11]!).toBeLessThan(0.85 * losses[0]!);
    expect(new Set(counts.slice(1)).size).toBe(1);
    optimizer.dispose();
    net.dispose();
    tf.dispose([images, ...targets, ...positives]);
  });

  it('keeps the running backend when asked for another thread count later, and says so', async () => {
    const again = await initBackend({ prefer: 'wasm', threads: 1, env: {} });
    expect(again.wasm).toMatchObject({ threads: 2, threadsRequested: 1 });
    expect(formatBackendChoice(again)).toContain('2 threads (1 requested: the backend had already started)');
  });

  it('lets a process that used it exit by itself (the pool threads do not hold the event loop)', async () => {
    const script = fileURLToPath(new URL('./support/threaded-child.ts', import.meta.url));
    const hook = fileURLToPath(new URL('../../../tools/register-tfjs-core-resolve.mjs', import.meta.url));
    const started = Date.now();
    const { stdout, code } = await new Promise<{ stdout: string; code: number | null }>((resolve) => {
      const child = execFile(process.execPath, ['--import', 'tsx', '--import', hook, script], { timeout: 60_000 }, (_err, out) =>
        resolve({ stdout: out, code: child.exitCode }),
      );
    });
    expect(code).toBe(0);
    expect(stdout.trim()).toBe('threads=2 sum=36');
    expect(Date.now() - started).toBeLessThan(60_000);
  });
});

describe('resolveWasmThreads', () => {
  it('takes the option, then HPF_WASM_THREADS, then 1', () => {
    expect(resolveWasmThreads({ threads: 3, env: { HPF_WASM_THREADS: '2' } })).toBe(3);
    expect(resolveWasmThreads({ env: { HPF_WASM_THREADS: '2' } })).toBe(2);
    expect(resolveWasmThreads({ env: { HPF_WASM_THREADS: '' } })).toBe(1);
    expect(resolveWasmThreads({ env: {} })).toBe(1);
  });

  it('names a bad value and where it came from', () => {
    expect(() => resolveWasmThreads({ env: { HPF_WASM_THREADS: '0' } })).toThrow("HPF_WASM_THREADS must be an integer from 1 to 8 (wasm threads), got '0'");
    expect(() => resolveWasmThreads({ env: { HPF_WASM_THREADS: 'two' } })).toThrow("HPF_WASM_THREADS must be an integer from 1 to 8 (wasm threads), got 'two'");
    expect(() => resolveWasmThreads({ threads: 9 })).toThrow("initBackend option 'threads' must be an integer from 1 to 8 (wasm threads), got '9'");
    expect(() => resolveWasmThreads({ threads: 1.5 })).toThrow("initBackend option 'threads' must be an integer from 1 to 8");
  });
});
