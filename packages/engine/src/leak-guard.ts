/**
 * Tensor-leak guards for tests of every package: a loop body that leaks shows up as a growing
 * `tf.memory().numTensors`. Optimisers and layers legitimately allocate state on their first call,
 * so the guards measure after warm-up iterations.
 */
import * as tf from '@tensorflow/tfjs-core';

export class TensorLeakError extends Error {
  override readonly name = 'TensorLeakError';
  constructor(
    message: string,
    readonly before: number,
    readonly after: number,
  ) {
    super(message);
  }
}

export interface TensorTracker {
  /** Live tensors now minus live tensors when the tracker was created. */
  delta(): number;
  /** Throws TensorLeakError if more tensors are alive than when the tracker was created. */
  assertNoGrowth(label?: string): void;
}

/** Snapshot of `tf.memory().numTensors`; compare later with `delta()` / `assertNoGrowth()`. */
export function trackTensors(): TensorTracker {
  const before = tf.memory().numTensors;
  return {
    delta: () => tf.memory().numTensors - before,
    assertNoGrowth(label = 'tensors') {
      const after = tf.memory().numTensors;
      if (after > before) {
        throw new TensorLeakError(`${label}: ${after - before} tensor(s) leaked (numTensors ${before} -> ${after})`, before, after);
      }
    },
  };
}

export interface LeakCheckOptions {
  /** Measured iterations after warm-up (default 3). */
  iterations?: number;
  /** Iterations run before the baseline is taken, for lazily created state (default 1). */
  warmup?: number;
  /** Named in the error message. */
  label?: string;
}

const OPTION_KEYS = new Set(['iterations', 'warmup', 'label']);

function validate(options: LeakCheckOptions): Required<LeakCheckOptions> {
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key)) throw new Error(`assertNoTensorLeak: unknown option '${key}'`);
  }
  const { iterations = 3, warmup = 1, label = 'function' } = options;
  if (!Number.isInteger(iterations) || iterations < 1) {
    throw new Error(`assertNoTensorLeak: option 'iterations' must be an integer >= 1, got ${iterations}`);
  }
  if (!Number.isInteger(warmup) || warmup < 0) {
    throw new Error(`assertNoTensorLeak: option 'warmup' must be an integer >= 0, got ${warmup}`);
  }
  return { iterations, warmup, label };
}

/**
 * Runs `fn(iteration)` warmup + iterations times and throws TensorLeakError if the number of live
 * tensors grew over the measured iterations. Tensors that `fn` returns are disposed by the guard,
 * so `fn` may return its outputs; anything else it allocates and keeps counts as a leak.
 */
export async function assertNoTensorLeak(
  fn: (iteration: number) => tf.TensorContainer | void | Promise<tf.TensorContainer | void>,
  options: LeakCheckOptions = {},
): Promise<void> {
  const { iterations, warmup, label } = validate(options);
  let iteration = 0;
  const runOnce = async (): Promise<void> => {
    const result = await fn(iteration++);
    if (result !== undefined) tf.dispose(result);
  };
  for (let i = 0; i < warmup; i++) await runOnce();
  const before = tf.memory().numTensors;
  for (let i = 0; i < iterations; i++) await runOnce();
  const after = tf.memory().numTensors;
  if (after > before) {
    const perIteration = (after - before) / iterations;
    throw new TensorLeakError(
      `${label} leaks tensors: numTensors ${before} -> ${after} over ${iterations} iteration(s) (${perIteration} per iteration)`,
      before,
      after,
    );
  }
}
