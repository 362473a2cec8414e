/**
 * Backend selection: tfjs-node-gpu > tfjs-node (both register the 'tensorflow' backend) > wasm >
 * cpu, overridable by the `prefer` option or the HPF_BACKEND environment variable.
 *
 * The native packages are optional peer dependencies (their install downloads libtensorflow), so
 * they are loaded with a dynamic import of a computed specifier: this module builds, type-checks
 * and runs without them.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
// The package's own main entry, not './kernels/register.js': the CJS build of this entry would
// otherwise carry a second copy of the kernel registry, whose kernel functions are other objects.
import { activeWasmTrainingKernels, type WasmKernelRegistration } from '@hpf/engine';
import { MAX_WASM_THREADS, registerThreadedWasmBackend } from './wasm-threads.js';

/** Values accepted by `prefer` and HPF_BACKEND. */
export const BACKEND_REQUESTS = ['auto', 'tensorflow', 'tensorflow-gpu', 'tensorflow-cpu', 'wasm', 'cpu'] as const;
export type BackendRequest = (typeof BACKEND_REQUESTS)[number];

interface Candidate {
  /** The tfjs backend name it registers. */
  backend: 'tensorflow' | 'wasm' | 'cpu';
  package: string;
}

const TFJS_NODE_GPU: Candidate = { backend: 'tensorflow', package: '@tensorflow/tfjs-node-gpu' };
const TFJS_NODE: Candidate = { backend: 'tensorflow', package: '@tensorflow/tfjs-node' };
const WASM: Candidate = { backend: 'wasm', package: '@tensorflow/tfjs-backend-wasm' };
const CPU: Candidate = { backend: 'cpu', package: '@tensorflow/tfjs-backend-cpu' };

const CANDIDATES: Record<BackendRequest, Candidate[]> = {
  auto: [TFJS_NODE_GPU, TFJS_NODE, WASM, CPU],
  tensorflow: [TFJS_NODE_GPU, TFJS_NODE],
  'tensorflow-gpu': [TFJS_NODE_GPU],
  'tensorflow-cpu': [TFJS_NODE],
  wasm: [WASM],
  cpu: [CPU],
};

export interface SkippedBackend {
  package: string;
  reason: string;
}

export interface WasmInfo {
  simd: boolean;
  /** True when the multi-threaded build runs (threads > 1). */
  multithread: boolean;
  /** XNNPACK threads in use. */
  threads: number;
  /** Threads asked for (option, HPF_WASM_THREADS or the default); differs from `threads` only when the wasm backend had already started. */
  threadsRequested: number;
  kernels: WasmKernelRegistration;
}

export interface BackendChoice {
  /** The active tfjs backend (`tf.getBackend()`). */
  backend: 'tensorflow' | 'wasm' | 'cpu';
  /** The package that provides it. */
  package: string;
  /** What was asked for and where the request came from. */
  request: BackendRequest;
  requestSource: 'option' | 'HPF_BACKEND' | 'default';
  /** Candidates tried before the chosen one, with why each was not used. */
  skipped: SkippedBackend[];
  /** Only for the wasm backend. */
  wasm?: WasmInfo;
}

export interface InitBackendOptions {
  /** Overrides HPF_BACKEND. Default: HPF_BACKEND, else 'auto'. */
  prefer?: BackendRequest;
  /** Environment to read HPF_BACKEND from (default `process.env`). */
  env?: Record<string, string | undefined>;
  /** Loads a package by name (default: dynamic `import()`); lets tests and bundlers supply modules. */
  importModule?: (specifier: string) => Promise<unknown>;
  /**
   * wasm only: XNNPACK threads, 1-8. Overrides HPF_WASM_THREADS. Default 1: on this project's
   * 2-core machine the threaded build halves a convolution but makes whole training steps erratic
   * (see the README), so more threads are opt-in. Give each of N concurrent processes cores / N.
   */
  threads?: number;
}

const OPTION_KEYS = new Set(['prefer', 'env', 'importModule', 'threads']);

function parseThreads(value: unknown, source: string): number {
  const n = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_WASM_THREADS) {
    throw new Error(`${source} must be an integer from 1 to ${MAX_WASM_THREADS} (wasm threads), got '${String(value)}'`);
  }
  return n;
}

/** The wasm thread count initBackend uses: option, else HPF_WASM_THREADS, else 1. */
export function resolveWasmThreads(options: Pick<InitBackendOptions, 'threads' | 'env'> = {}): number {
  if (options.threads !== undefined) return parseThreads(options.threads, "initBackend option 'threads'");
  const fromEnv = (options.env ?? process.env).HPF_WASM_THREADS;
  if (fromEnv !== undefined && fromEnv !== '') return parseThreads(fromEnv, 'HPF_WASM_THREADS');
  return 1;
}

function parseRequest(value: string, source: string): BackendRequest {
  if ((BACKEND_REQUESTS as readonly string[]).includes(value)) return value as BackendRequest;
  throw new Error(`${source}='${value}' is not a backend; expected one of: ${BACKEND_REQUESTS.join(', ')}`);
}

// Node says ERR_MODULE_NOT_FOUND / "Cannot find package"; bundler-based runners (vitest) say
// "Could not resolve"/"Failed to resolve". Anything else (a missing libtensorflow, CUDA) is a
// load failure worth reporting verbatim.
function isNotInstalled(error: unknown, specifier: string): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  const message = String((error as { message?: unknown } | null)?.message ?? error);
  if (!message.includes(specifier)) return false;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' || /Cannot find (package|module)|(Could not|Failed to) resolve/.test(message);
}

function describe(error: unknown): string {
  return String((error as { message?: unknown } | null)?.message ?? error).split('\n')[0]!;
}

async function tryNative(candidate: Candidate, importModule: (s: string) => Promise<unknown>): Promise<string | undefined> {
  try {
    await importModule(candidate.package);
  } catch (error) {
    return isNotInstalled(error, candidate.package) ? 'not installed' : `failed to load: ${describe(error)}`;
  }
  if (tf.findBackend(candidate.backend) === null && tf.findBackendFactory(candidate.backend) === null) {
    return `loaded, but registered no '${candidate.backend}' backend`;
  }
  if (!(await tf.setBackend(candidate.backend))) return `backend '${candidate.backend}' failed to initialise`;
  return undefined;
}

async function tryWasm(threads: number): Promise<string | undefined> {
  // One thread: tfjs' own single-threaded SIMD build, as registered by the package.
  if (threads > 1) registerThreadedWasmBackend(threads);
  try {
    return (await tf.setBackend('wasm')) ? undefined : 'wasm module failed to initialise';
  } catch (error) {
    return `failed to initialise: ${describe(error)}`;
  }
}

async function wasmInfo(threadsRequested: number): Promise<WasmInfo> {
  const threads = getThreadsCount();
  return {
    simd: Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')),
    multithread: threads > 1,
    threads,
    threadsRequested,
    kernels: activeWasmTrainingKernels(),
  };
}

function installHint(request: BackendRequest): string {
  if (request === 'tensorflow-gpu') return 'npm install @tensorflow/tfjs-node-gpu (downloads libtensorflow with CUDA)';
  if (request === 'tensorflow-cpu' || request === 'tensorflow') return 'npm install @tensorflow/tfjs-node (downloads libtensorflow)';
  return 'reinstall @hpf/engine';
}

/**
 * Selects and initialises the tfjs backend. It registers no training kernels (inference needs
 * none): `installTrainingKernels()` from `@hpf/engine` does, before or after this. A request for a specific backend that cannot be used is an error;
 * 'auto' falls through the order and reports why each earlier candidate was skipped.
 */
export async function initBackend(options: InitBackendOptions = {}): Promise<BackendChoice> {
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key)) throw new Error(`initBackend: unknown option '${key}'`);
  }
  const env = options.env ?? process.env;
  const importModule = options.importModule ?? ((specifier: string) => import(specifier));
  let request: BackendRequest = 'auto';
  let requestSource: BackendChoice['requestSource'] = 'default';
  if (options.prefer !== undefined) {
    request = parseRequest(options.prefer, "initBackend option 'prefer'");
    requestSource = 'option';
  } else if (env.HPF_BACKEND !== undefined && env.HPF_BACKEND !== '') {
    request = parseRequest(env.HPF_BACKEND, 'HPF_BACKEND');
    requestSource = 'HPF_BACKEND';
  }

  const threads = resolveWasmThreads({ threads: options.threads, env });

  const skipped: SkippedBackend[] = [];
  for (const candidate of CANDIDATES[request]) {
    let failure: string | undefined;
    if (candidate.backend === 'tensorflow') failure = await tryNative(candidate, importModule);
    else if (candidate.backend === 'wasm') failure = await tryWasm(threads);
    else failure = (await tf.setBackend('cpu')) ? undefined : 'cpu backend failed to initialise';

    if (failure === undefined) {
      const choice: BackendChoice = { backend: candidate.backend, package: candidate.package, request, requestSource, skipped };
      if (candidate.backend === 'wasm') choice.wasm = await wasmInfo(threads);
      return choice;
    }
    skipped.push({ package: candidate.package, reason: failure });
  }
  const source = requestSource === 'option' ? "initBackend option 'prefer'" : requestSource;
  const details = skipped.map((s) => `${s.package}: ${s.reason}`).join('; ');
  throw new Error(`${source} requested backend '${request}', which cannot be used (${details}). Install it: ${installHint(request)}`);
}

/** One line for logs: "wasm (@tensorflow/tfjs-backend-wasm, SIMD, 1 thread); skipped: ...". */
export function formatBackendChoice(choice: BackendChoice): string {
  let text = `${choice.backend} (${choice.package}`;
  if (choice.wasm) {
    text += `${choice.wasm.simd ? ', SIMD' : ', no SIMD'}, ${choice.wasm.threads} thread${choice.wasm.threads === 1 ? '' : 's'}`;
    if (choice.wasm.threads !== choice.wasm.threadsRequested) text += ` (${choice.wasm.threadsRequested} requested: the backend had already started)`;
  }
  text += `) from ${choice.requestSource === 'default' ? 'default order' : `${choice.requestSource}=${choice.request}`}`;
  if (choice.skipped.length > 0) text += `; skipped: ${choice.skipped.map((s) => `${s.package} (${s.reason})`).join(', ')}`;
  return text;
}
