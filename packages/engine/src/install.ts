/**
 * The explicit runtime set-up for training: tfjs-core's gradients and the wasm training kernels.
 * Nothing here runs on import; inference (an adapter's `predict`, a page that runs an exported
 * model) never needs it and never loads it.
 */
import { version_core } from '@tensorflow/tfjs-core';
import { BackendWasm, version_wasm } from '@tensorflow/tfjs-backend-wasm';
import { registerTfjsGradients } from './gradients.js';
import { registerWasmTrainingKernels, type WasmKernelRegistration } from './kernels/register.js';

/** The tfjs-backend-wasm version the kernels were written against; package.json pins it exactly. */
export const PINNED_TFJS_WASM = '4.22.0';

/**
 * Members of tfjs-backend-wasm's BackendWasm that the engine's kernels call although they are not
 * part of tfjs' public kernel API (kernels/wasm-ops.ts, slice.ts, shared-copy.ts).
 */
export const WASM_BACKEND_MEMBERS = ['makeOutput', 'typedArrayFromHeap', 'incRef', 'disposeData'] as const;

/** The members of WASM_BACKEND_MEMBERS that `prototype` lacks (not functions). */
export function missingWasmBackendMembers(prototype: object): string[] {
  return WASM_BACKEND_MEMBERS.filter((name) => typeof (prototype as Record<string, unknown>)[name] !== 'function');
}

/** Throws a clear error when the installed wasm backend lacks a member the kernels use. */
export function checkWasmBackend(prototype: object = BackendWasm.prototype, version: string = version_wasm): void {
  const missing = missingWasmBackendMembers(prototype);
  if (missing.length === 0) return;
  throw new Error(
    `@hpf/engine: the wasm training kernels call BackendWasm.${missing.join('(), BackendWasm.')}() of @tensorflow/tfjs-backend-wasm ` +
      `${PINNED_TFJS_WASM}, but the installed ${version} has no such method${missing.length === 1 ? '' : 's'}. ` +
      `Install @tensorflow/tfjs-backend-wasm@${PINNED_TFJS_WASM} (and @tensorflow/tfjs-core 4.22.x; found ${version_core}).`,
  );
}

let installed = false;

/** True once installTrainingKernels() ran (trainStep calls it only then, so that a caller's own kernel choice, e.g. a benchmark's native arm, stands). */
export function trainingKernelsInstalled(): boolean {
  return installed;
}

/**
 * Makes the shared tfjs engine able to train: registers tfjs-core's gradient functions (tfjs-core
 * alone registers none, so `tf.grad` would fail with "gradient function not found") and the wasm
 * backend's training kernels, after checking that the wasm backend has the members they use.
 * Idempotent. The trainer (`trainStep`), the `hpf` command and the test kit call it; call it
 * yourself before `tf.variableGrads` / `optimizer.minimize` on a detector.
 */
export function installTrainingKernels(): WasmKernelRegistration {
  checkWasmBackend();
  if (!installed) registerTfjsGradients();
  installed = true;
  return registerWasmTrainingKernels();
}
