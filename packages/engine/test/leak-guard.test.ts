import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertNoTensorLeak, TensorLeakError, trackTensors } from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('assertNoTensorLeak', () => {
  it('catches a deliberate leak and reports the growth per iteration', async () => {
    const kept: tf.Tensor[] = [];
    const leaky = (): void => {
      kept.push(tf.add(tf.scalar(1), tf.scalar(2))); // three tensors, none disposed
    };
    const error = await assertNoTensorLeak(leaky, { iterations: 4, label: 'leaky step' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TensorLeakError);
    expect((error as TensorLeakError).after - (error as TensorLeakError).before).toBe(12);
    expect((error as Error).message).toMatch(/leaky step leaks tensors: .* over 4 iteration\(s\) \(3 per iteration\)/);
    tf.dispose(kept);
  });

  it('passes a clean loop and disposes what the function returns', async () => {
    const x = tf.tensor1d([1, 2, 3]);
    const start = tf.memory().numTensors;
    await assertNoTensorLeak(() => tf.tidy(() => tf.mul(x, 2)), { iterations: 5 });
    expect(tf.memory().numTensors).toBe(start);
    x.dispose();
  });

  it('ignores state created during warm-up but catches growth after it', async () => {
    let cache: tf.Tensor | undefined;
    const lazy = (): void => {
      cache ??= tf.zeros([4]);
    };
    await expect(assertNoTensorLeak(lazy, { warmup: 1 })).resolves.toBeUndefined();
    await expect(assertNoTensorLeak(() => void tf.zeros([1]), { warmup: 0 })).rejects.toThrow(TensorLeakError);
    cache?.dispose();
  });

  it('supports async functions', async () => {
    const leaked: tf.Tensor[] = [];
    await expect(
      assertNoTensorLeak(async () => {
        await Promise.resolve();
        leaked.push(tf.ones([2]));
      }),
    ).rejects.toThrow(/leaks tensors/);
    tf.dispose(leaked);
  });

  it('rejects unknown and invalid options', async () => {
    await expect(assertNoTensorLeak(() => undefined, { iteration: 3 } as never)).rejects.toThrow(/unknown option 'iteration'/);
    await expect(assertNoTensorLeak(() => undefined, { iterations: 0 })).rejects.toThrow(/'iterations'/);
  });
});

describe('trackTensors', () => {
  it('reports the delta and throws on growth', () => {
    const tracker = trackTensors();
    const t = tf.ones([3]);
    expect(tracker.delta()).toBe(1);
    expect(() => tracker.assertNoGrowth('block')).toThrow(/block: 1 tensor\(s\) leaked/);
    t.dispose();
    expect(tracker.delta()).toBe(0);
    expect(() => tracker.assertNoGrowth()).not.toThrow();
  });
});
