// The harness on a one-weight "detector" (loss w^2 / 2, gradient w) whose predictions are the ground
// truth: the update rule (warm-up, clipping, momentum) is checked against a float64 replay.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { NonFiniteLossError } from '@hpf/engine';
import type { Detector } from '@hpf/dense';
import { OVERFIT_DEFAULTS, overfitImages, runOverfit } from '../src/index.js';

const data = overfitImages();

function quadratic(initial: number[]): { det: Detector<unknown>; w: tf.Variable } {
  const init = tf.tensor1d(initial);
  const w = tf.variable(init);
  init.dispose();
  const det = {
    name: 'quadratic',
    trainableVariables: () => [w],
    computeLoss: () => {
      const fit = tf.mul(tf.sum(tf.square(w)), 0.5) as tf.Scalar;
      return { losses: { fit }, total: tf.clone(fit), stats: { levels: [], numPositives: 0, avgFactor: 1 } };
    },
    predict: async () =>
      data.targets.map((t) =>
        Array.from(t.labels, (label, k) => ({ box: Array.from(t.boxes.slice(4 * k, 4 * k + 4)) as [number, number, number, number], score: 0.9, label })),
      ),
    dispose: () => w.dispose(),
  };
  return { det: det as unknown as Detector<unknown>, w };
}

interface Recipe {
  lr: number;
  warmupIters: number;
  warmupRatio: number;
  clipGradNorm: number | null;
  decayAt: number | null;
}

/** float64 replay of the recipe: lr warm-up and step decay, clip by norm, v = m v + g, w -= lr v. */
function replay(w0: number[], steps: number, o: Recipe) {
  const w = [...w0];
  const v = w.map(() => 0);
  const losses: number[] = [];
  const norms: number[] = [];
  for (let i = 0; i < steps; i++) {
    const norm = Math.hypot(...w);
    losses.push(0.5 * norm * norm);
    norms.push(norm);
    const scale = o.clipGradNorm !== null && o.clipGradNorm / (norm + 1e-6) < 1 ? o.clipGradNorm / (norm + 1e-6) : 1;
    const decay = o.decayAt !== null && i >= Math.round(o.decayAt * steps) ? 0.1 : 1;
    const lr = decay * o.lr * (i >= o.warmupIters ? 1 : 1 - (1 - i / o.warmupIters) * (1 - o.warmupRatio));
    w.forEach((x, k) => {
      v[k] = 0.9 * v[k]! + x * scale;
      w[k] = x - lr * v[k]!;
    });
  }
  return { w, losses, norms };
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

afterEach(() => {
  delete process.env.OVERFIT_HARNESS;
});

describe('runOverfit', () => {
  it('trains with linear warm-up, clipping by global norm and momentum 0.9 (defaults), then scores COCO AP', async () => {
    // |w| = 50 > clipGradNorm 10: every step here is clipped, and the warm-up ends at step 10.
    const { det, w } = quadratic([30, -40]);
    const before = tf.memory().numTensors;
    const { stats, losses, gradNorms, tensorCounts } = await runOverfit(det, { steps: 14, lr: 0.1 });
    const expected = replay([30, -40], 14, { ...OVERFIT_DEFAULTS, lr: 0.1 });
    losses.forEach((l, i) => expect(l).toBeCloseTo(expected.losses[i]!, 1));
    expect(Math.max(...losses.map((l, i) => Math.abs(l / expected.losses[i]! - 1)))).toBeLessThan(1e-5);
    gradNorms.forEach((n, i) => expect(n).toBeCloseTo(expected.norms[i]!, 3));
    Array.from(w.dataSync()).forEach((x, k) => expect(x).toBeCloseTo(expected.w[k]!, 3));
    // Without warm-up or clipping the same run ends elsewhere: the options are not ignored.
    const plain = replay([30, -40], 14, { lr: 0.1, warmupIters: 0, warmupRatio: 1, clipGradNorm: null, decayAt: null });
    expect(Math.abs(plain.w[0]! - expected.w[0]!)).toBeGreaterThan(0.3);
    expect(stats.AP50).toBe(1);
    expect(tensorCounts.at(-1)).toBe(tensorCounts[1]);
    det.dispose();
    expect(tf.memory().numTensors).toBe(before - 1);
  });

  it('takes lr, warm-up and clipping options, and OVERFIT_HARNESS under them', async () => {
    const o = { lr: 0.05, warmupIters: 3, warmupRatio: 0.5, clipGradNorm: null, decayAt: 0.5 };
    const a = quadratic([30, -40]);
    const { losses, gradNorms } = await runOverfit(a.det, { steps: 6, ...o });
    expect(gradNorms).toEqual([]);
    Array.from(a.w.dataSync()).forEach((x, k) => expect(x).toBeCloseTo(replay([30, -40], 6, o).w[k]!, 3));
    a.det.dispose();
    process.env.OVERFIT_HARNESS = JSON.stringify(o);
    const b = quadratic([30, -40]);
    expect((await runOverfit(b.det, { steps: 6 })).losses).toEqual(losses);
    b.det.dispose();
    // A test's own option wins over the environment's.
    const c = quadratic([30, -40]);
    expect((await runOverfit(c.det, { steps: 6, lr: 0.01 })).losses[1]).not.toBe(losses[1]);
    c.det.dispose();
  });

  it('jitters the initial weights by at most scale, reproducibly per seed', async () => {
    const initial = Array.from({ length: 64 }, (_, i) => (i - 32) / 7);
    const jittered = async (seed: number): Promise<Float32Array> => {
      const { det, w } = quadratic(initial);
      // lr tiny and one step: the weights after training are the jittered ones to ~1e-9.
      await runOverfit(det, { steps: 1, lr: 1e-12, jitter: { scale: 1e-3, seed } });
      const values = w.dataSync() as Float32Array;
      det.dispose();
      return values;
    };
    const [a, b, c] = [await jittered(1), await jittered(1), await jittered(2)];
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
    const relative = initial.map((x, i) => (x === 0 ? 0 : Math.abs(a[i]! / x - 1)));
    expect(Math.max(...relative)).toBeLessThanOrEqual(1e-3 * (1 + 1e-4));
    expect(Math.max(...relative)).toBeGreaterThan(5e-4);
  });

  it('stops on a non-finite loss and refuses bad options, naming them', async () => {
    const { det } = quadratic([Infinity, 1]);
    await expect(runOverfit(det, { steps: 3 })).rejects.toBeInstanceOf(NonFiniteLossError);
    await expect(runOverfit(det, { steps: 3, momentum: 0.5 } as never)).rejects.toThrow(/unknown option 'momentum'/);
    await expect(runOverfit(det, { steps: 0 })).rejects.toThrow(/'steps' must be a positive integer/);
    await expect(runOverfit(det, { steps: 3, clipGradNorm: 0 })).rejects.toThrow(/'clipGradNorm' must be > 0 or null/);
    await expect(runOverfit(det, { steps: 3, decayAt: 0 })).rejects.toThrow(/'decayAt' must be in \(0, 1\] or null/);
    await expect(runOverfit(det, { steps: 3, jitter: { scale: -1, seed: 0 } })).rejects.toThrow(/'jitter'/);
    process.env.OVERFIT_HARNESS = '{"clip": 3}';
    await expect(runOverfit(det, { steps: 3 })).rejects.toThrow(/OVERFIT_HARNESS has unknown option 'clip'/);
    process.env.OVERFIT_HARNESS = 'clip=3';
    await expect(runOverfit(det, { steps: 3 })).rejects.toThrow(/OVERFIT_HARNESS is not JSON/);
    det.dispose();
  });
});
