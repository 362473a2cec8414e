/**
 * tfjs-backend-wasm's multi-threaded SIMD build under Node.
 *
 * tfjs 4.22 ships the build (XNNPACK with a pthreadpool) but never uses it in Node: its
 * WASM_HAS_MULTITHREAD_SUPPORT flag is false there (tfjs issue 3830), for two reasons that are
 * both on the JavaScript side and are worked around here, without patching the package:
 * - the pthread worker script is shipped only as a string (`wasmWorkerContents`), which tfjs turns
 *   into a Blob URL; Node's worker_threads cannot start a Blob URL. Here the worker is a `data:`
 *   URL module that evaluates that string with a real `require`;
 * - the C++ side caps the pool at `emscripten_num_logical_cores() / 2` (it assumes two hyper-threads
 *   per core), which is `os.cpus().length / 2` in Node: one thread on a 2-core machine. The pool
 *   size is fixed while the module initialises, so `os.cpus` reports 2 x threads for that moment.
 *
 * Convolutions and matrix products (XNNPACK) run on the pool; element-wise kernels stay on the
 * calling thread. Results are those of the single-threaded build to float rounding (XNNPACK splits
 * the output, not the reductions).
 */
import os from 'node:os';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import { BackendWasm, getThreadsCount, setThreadsCount } from '@tensorflow/tfjs-backend-wasm';

/** XNNPACK's pool in tfjs-backend-wasm is built with at most 8 threads (8 pre-spawned workers). */
export const MAX_WASM_THREADS = 8;

const THREADED_BUILD = '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js';
const THREADED_WORKER = '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js';

interface EmscriptenWorker {
  unref(): void;
}

interface ThreadedModule {
  cwrap(name: string, returnType: string | null, argTypes: string[]): (...args: number[]) => unknown;
  PThread: { runningWorkers: EmscriptenWorker[]; unusedWorkers: EmscriptenWorker[] };
  tfjs?: Record<string, unknown>;
}

type ModuleFactory = (config: Record<string, unknown>) => Promise<ThreadedModule>;

// The worker evaluates emscripten's worker script as tfjs' Blob would, but with Node's require and
// the main script's path (which the worker reads with fs to instantiate the shared module).
function workerUrl(mainScript: string, workerModule: string): URL {
  const source = [
    `import { createRequire } from 'node:module';`,
    `const require = createRequire(${JSON.stringify(mainScript)});`,
    `const { wasmWorkerContents } = require(${JSON.stringify(workerModule)});`,
    // The string holds literal newlines inside string literals (tfjs escapes them the same way).
    `new Function('require', '__filename', wasmWorkerContents.replace(/\\n/g, '\\\\n'))(require, ${JSON.stringify(mainScript)});`,
  ].join('\n');
  return new URL(`data:text/javascript,${encodeURIComponent(source)}`);
}

async function instantiate(threads: number): Promise<ThreadedModule> {
  const require = createRequire(import.meta.url);
  const mainScript = require.resolve(THREADED_BUILD);
  const workerModule = require.resolve(THREADED_WORKER);
  const factory = require(mainScript) as ModuleFactory;
  const wasmDir = mainScript.slice(0, mainScript.lastIndexOf('/') + 1);
  const worker = workerUrl(mainScript, workerModule);

  const cpus = os.cpus;
  os.cpus = () => {
    const real = cpus();
    return Array.from({ length: 2 * threads }, (_, i) => real[i % real.length]!);
  };
  let module: ThreadedModule;
  try {
    module = await factory({
      locateFile: (path: string) => (path.endsWith('.worker.js') ? worker : wasmDir + path),
      mainScriptUrlOrBlob: mainScript,
    });
  } finally {
    os.cpus = cpus;
  }
  // What tfjs-backend-wasm's own init() attaches before constructing the backend.
  module.tfjs = {
    init: module.cwrap('init', null, []),
    initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
    getThreadsCount: module.cwrap('get_threads_count', 'number', []),
    registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
    disposeData: module.cwrap('dispose_data', null, ['number']),
    dispose: module.cwrap('dispose', null, []),
  };
  return module;
}

/**
 * Makes 'wasm' the multi-threaded build with `threads` XNNPACK threads (2..8). Must run before the
 * wasm backend is first initialised; returns false (and changes nothing) if it already was.
 */
export function registerThreadedWasmBackend(threads: number): boolean {
  if (!Number.isInteger(threads) || threads < 2 || threads > MAX_WASM_THREADS) {
    throw new Error(`registerThreadedWasmBackend: threads must be an integer in [2, ${MAX_WASM_THREADS}], got ${threads}`);
  }
  if (tf.engine().registry.wasm !== undefined) return false;
  const priority = 2; // tfjs-backend-wasm's WASM_PRIORITY
  tf.removeBackend('wasm');
  tf.registerBackend(
    'wasm',
    async () => {
      setThreadsCount(threads);
      const module = await instantiate(threads);
      const backend = new BackendWasm(module as never);
      // The pool's threads wait for work for the life of the process; like the idle pool workers
      // (which emscripten already unrefs), they must not keep Node's event loop alive.
      for (const w of module.PThread.runningWorkers) w.unref();
      if (getThreadsCount() !== threads) {
        throw new Error(`threaded wasm backend started ${getThreadsCount()} threads, expected ${threads}`);
      }
      return backend;
    },
    priority,
  );
  return true;
}
