import * as tf from '@tensorflow/tfjs-core';

/** Deterministic values in [-1, 1) from a 32-bit LCG, so that fixtures need no rng library. */
export function lcgValues(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let state = seed >>> 0;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state / 2 ** 31 - 1;
  }
  return out;
}

/** max |a - b| / max |b|: the relative error used by the kernel tests. */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} vs ${expected.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  return diff / Math.max(scale, 1e-30);
}

/** Runs a kernel by name on the given backend with plain-array inputs; returns values and shape. */
export async function runKernelOn(
  backend: string,
  kernelName: string,
  inputs: Record<string, { values: Float32Array | Int32Array; shape: number[] }>,
  attrs: Record<string, unknown>,
): Promise<{ values: Float32Array | Int32Array; shape: number[] }> {
  await tf.setBackend(backend);
  const tensors = Object.fromEntries(
    Object.entries(inputs).map(([name, { values, shape }]) => [
      name,
      tf.tensor(values, shape, values instanceof Int32Array ? 'int32' : 'float32'),
    ]),
  );
  const out = tf.engine().runKernel(kernelName, tensors, attrs as tf.NamedAttrMap) as tf.Tensor;
  const result = { values: out.dataSync() as Float32Array | Int32Array, shape: out.shape };
  out.dispose();
  Object.values(tensors).forEach((t) => t.dispose());
  return result;
}
