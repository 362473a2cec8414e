import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Detector, DetectorState } from '@hpf/dense';
import { BackendMismatchError, fit, NonFiniteStateError, readCheckpoint, writeCheckpoint, type CheckpointHeader, type TrainBatch } from '../src/node.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const dir = mkdtempSync(join(tmpdir(), 'hpf-fit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A two-weight "detector": loss 0.5 |w - c|^2 with c the batch's mean pixel, a state that counts
 * the loss calls (as HPF's focus state counts its steps), and the epochs it was given.
 */
function toy(): { det: Detector; w: tf.Variable; epochs: number[] } {
  const init = tf.tensor1d([1, -2]);
  const w = tf.variable(init);
  init.dispose();
  let calls = 0;
  const epochs: number[] = [];
  const det = {
    name: 'toy',
    config: {},
    model: { stateDict: () => [['w', w]] },
    trainableVariables: () => [w],
    computeLoss: (images: tf.Tensor4D) => {
      calls++;
      const fit = tf.tidy(() => tf.mul(tf.sum(tf.square(tf.sub(w, tf.mean(images)))), 0.5)) as tf.Scalar;
      return { losses: { fit }, total: tf.clone(fit), stats: { levels: [{ gamma: calls, numPositives: 1 }], numPositives: 1, avgFactor: 1 } };
    },
    state: (): DetectorState => ({ focus: { format: 1, mode: 'hierarchical', statistic: 'mean-nll', momentum: 0, numLevels: 1, steps: calls, smoothed: [], history: [] } }),
    loadState: (state: DetectorState) => {
      calls = state.focus!.steps;
    },
    setEpoch: (epoch: number) => epochs.push(epoch),
    predict: async () => [],
    dispose: () => w.dispose(),
  };
  return { det: det as unknown as Detector, w, epochs };
}

// Batch i has every pixel equal to i: a different target per iteration, a pure function of i.
const batchOf = (released: number[]) => (iteration: number): TrainBatch => {
  const images = tf.fill([1, 2, 2, 3], iteration) as tf.Tensor4D;
  return { images, targets: [], release: () => (images.dispose(), released.push(iteration)) };
};
const trainer = { lr: (i: number) => 0.1 / (1 + i), momentum: 0.9, weightDecay: 0.01 };

describe('fit', () => {
  it('runs the steps with the epoch set first, validates every N (not after the last) and releases every batch', async () => {
    const { det, w, epochs } = toy();
    const released: number[] = [];
    const order: string[] = [];
    const before = tf.memory().numTensors;
    const result = await fit({
      detector: det,
      steps: 7,
      iterationsPerEpoch: 3,
      batch: batchOf(released),
      trainer,
      validation: { every: 2, run: async (iteration) => ({ iteration, value: w.dataSync()[0]! }) },
      hooks: {
        beforeIteration: (i) => order.push(`before ${i} after epoch ${epochs.at(-1)}`),
        onIteration: (e) => order.push(`done ${e.iteration} epoch ${e.epoch}`),
      },
    });
    expect(epochs).toEqual([0, 0, 0, 1, 1, 1, 2]);
    expect(order.slice(0, 4)).toEqual(['before 0 after epoch 0', 'done 0 epoch 0', 'before 1 after epoch 0', 'done 1 epoch 0']);
    expect(released).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(result.validations.map((v) => v.iteration)).toEqual([2, 4, 6]);
    expect(result.history.map((r) => [r.iteration, r.lr, r.gammas, r.positives])).toEqual(
      Array.from({ length: 7 }, (_, i) => [i, 0.1 / (1 + i), [i + 1], [1]]),
    );
    expect(result.interrupted).toBe(false);
    // the first loss: 0.5 ((1 - 0)^2 + (-2 - 0)^2)
    expect(result.history[0]!.losses.total).toBeCloseTo(2.5, 6);
    expect(tf.memory().numTensors).toBe(before);
    det.dispose();
  });

  it('stopped by the signal and resumed from its checkpoint, gives the uninterrupted run to the bit', async () => {
    const straight = toy();
    const full = await fit({ detector: straight.det, steps: 6, iterationsPerEpoch: 4, batch: batchOf([]), trainer });
    const path = join(dir, 'resume.hpf');
    const first = toy();
    const controller = new AbortController();
    const stopped = await fit({
      detector: first.det,
      steps: 6,
      iterationsPerEpoch: 4,
      batch: batchOf([]),
      trainer,
      checkpoint: { path, every: 0, resume: false, meta: { run: 'a' } },
      hooks: { onIteration: (e) => e.iteration === 2 && controller.abort(), signal: controller.signal },
    });
    expect(stopped.interrupted).toBe(true);
    expect(stopped.history).toHaveLength(3);
    const header = readCheckpoint<CheckpointHeader & { run: string }>(path).meta;
    expect(header).toMatchObject({ format: 3, backend: 'cpu', iteration: 3, run: 'a', focus: { steps: 3 }, optimizer: { variables: ['w'] } });
    first.det.dispose();

    const second = toy();
    const seen: unknown[] = [];
    const resumed = await fit({
      detector: second.det,
      steps: 6,
      iterationsPerEpoch: 4,
      batch: batchOf([]),
      trainer,
      checkpoint: { path, every: 0, resume: true, meta: { run: 'a' }, checkResume: (stored) => seen.push(stored.run) },
    });
    expect(seen).toEqual(['a']);
    expect(second.epochs).toEqual([0, 1, 1]);
    expect(resumed.history).toEqual(full.history);
    expect(Array.from(second.w.dataSync())).toEqual(Array.from(straight.w.dataSync()));
    second.det.dispose();
    straight.det.dispose();
  });

  it('validation.after saves the state at a validation to another file and stops early with a checkpoint', async () => {
    const path = join(dir, 'early.hpf');
    const best = join(dir, 'early-best.hpf');
    const { det, w } = toy();
    const weightsAt = new Map<number, number[]>();
    const saved: string[] = [];
    const result = await fit({
      detector: det,
      steps: 20,
      iterationsPerEpoch: 100,
      batch: batchOf([]),
      trainer,
      checkpoint: { path, every: 0, resume: false, meta: { run: 'b' } },
      validation: {
        every: 3,
        run: async (iteration) => ({ iteration }),
        after: (v, control) => {
          weightsAt.set(v.iteration, Array.from(w.dataSync()));
          if (v.iteration === 3) control.save(best);
          if (v.iteration === 6) control.stop();
        },
      },
      hooks: { onCheckpoint: (c) => saved.push(`${c.iteration} ${c.path}`) },
    });
    expect(result).toMatchObject({ stoppedEarly: true, interrupted: false });
    expect(result.history).toHaveLength(6);
    expect(result.validations).toEqual([{ iteration: 3 }, { iteration: 6 }]);
    expect(saved).toEqual([`3 ${best}`, `6 ${path}`]);
    const atBest = readCheckpoint<CheckpointHeader & { run: string }>(best);
    // the header already holds the validation that triggered the save
    expect(atBest.meta).toMatchObject({ iteration: 3, run: 'b', validations: [{ iteration: 3 }] });
    expect(atBest.meta.history).toHaveLength(3);
    expect(Array.from(atBest.tensors.get('model/w')!.values)).toEqual(weightsAt.get(3)!.map(Math.fround));
    expect(readCheckpoint<CheckpointHeader>(path).meta.iteration).toBe(6);
    det.dispose();
  });

  it('refuses a resume the caller rejects before restoring anything', async () => {
    const path = join(dir, 'refuse.hpf');
    const a = toy();
    await fit({ detector: a.det, steps: 2, iterationsPerEpoch: 1, batch: batchOf([]), trainer, checkpoint: { path, every: 0, resume: false, meta: {} } });
    a.det.dispose();
    const b = toy();
    const w0 = Array.from(b.w.dataSync());
    const refuse = () => {
      throw new Error('other options');
    };
    await expect(
      fit({ detector: b.det, steps: 3, iterationsPerEpoch: 1, batch: batchOf([]), trainer, checkpoint: { path, every: 0, resume: true, meta: {}, checkResume: refuse } }),
    ).rejects.toThrow('other options');
    expect(Array.from(b.w.dataSync())).toEqual(w0);
    b.det.dispose();
    expect(existsSync(path)).toBe(true);
  });

  it('names a bad option', async () => {
    const { det } = toy();
    await expect(fit({ detector: det, steps: 0, iterationsPerEpoch: 1, batch: batchOf([]), trainer })).rejects.toThrow("fit: option 'steps' must be a positive integer, got 0");
    await expect(fit({ detector: det, steps: 1, iterationsPerEpoch: 0, batch: batchOf([]), trainer })).rejects.toThrow("option 'iterationsPerEpoch'");
    det.dispose();
  });

  it('a stop seen only at the next iteration (a signal during a step) still checkpoints the last iteration done', async () => {
    const path = join(dir, 'late-signal.hpf');
    const { det } = toy();
    const controller = new AbortController();
    const stopped = await fit({
      detector: det,
      steps: 20,
      iterationsPerEpoch: 8,
      batch: batchOf([]),
      trainer,
      checkpoint: { path, every: 0, resume: false, meta: {} },
      // A signal handler runs between event-loop turns: the abort lands after iteration 12's step,
      // seen at the loop's next yield, after the checkpoint decision (epoch end at 8).
      hooks: { beforeIteration: (i) => void (i === 12 && setImmediate(() => controller.abort())), signal: controller.signal },
    });
    expect(stopped.interrupted).toBe(true);
    expect(stopped.history).toHaveLength(13);
    expect(readCheckpoint<CheckpointHeader>(path).meta.iteration).toBe(13);
    det.dispose();
  });

  it('a late stop right after a save to another file (a best-so-far copy) still writes the checkpoint', async () => {
    const path = join(dir, 'late-after-best.hpf');
    const best = join(dir, 'late-best.hpf');
    const { det } = toy();
    const controller = new AbortController();
    const stopped = await fit({
      detector: det,
      steps: 20,
      iterationsPerEpoch: 8,
      batch: batchOf([]),
      trainer,
      checkpoint: { path, every: 0, resume: false, meta: {} },
      validation: { every: 2, run: async (iteration) => ({ iteration }), after: (_v, { save }) => save(best) },
      hooks: { beforeIteration: (i) => void (i === 3 && setImmediate(() => controller.abort())), signal: controller.signal },
    });
    expect(stopped.history).toHaveLength(4);
    expect(readCheckpoint<CheckpointHeader>(best).meta.iteration).toBe(4);
    expect(readCheckpoint<CheckpointHeader>(path).meta.iteration).toBe(4);
    det.dispose();
  });

  it('never checkpoints non-finite weights: stops naming the iteration and tensor, the previous checkpoint is kept', async () => {
    const path = join(dir, 'blow-up.hpf');
    const { det } = toy();
    // lr 1e39 sends w past float32's range in one update: loss 0 is finite, the weights are not.
    const error = await fit({
      detector: det,
      steps: 5,
      iterationsPerEpoch: 5,
      batch: batchOf([]),
      trainer: { lr: (i) => (i === 0 ? 0.1 : 1e39), momentum: 0.9 },
      checkpoint: { path, every: 1, resume: false, meta: {} },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NonFiniteStateError);
    expect((error as NonFiniteStateError).message).toBe(
      `training stopped at iteration 2: tensor 'model/w' is not finite (element 0 is -Infinity); the previous checkpoint (${path}, iteration 1) is kept`,
    );
    const kept = readCheckpoint<CheckpointHeader>(path);
    expect(kept.meta.iteration).toBe(1);
    expect([...kept.tensors.values()].every((t) => t.values.every(Number.isFinite))).toBe(true);
    det.dispose();
  });

  it('refuses to resume on another backend unless allowed, naming both', async () => {
    const path = join(dir, 'backend.hpf');
    const a = toy();
    await fit({ detector: a.det, steps: 2, iterationsPerEpoch: 1, batch: batchOf([]), trainer, checkpoint: { path, every: 0, resume: false, meta: {} } });
    a.det.dispose();
    const file = readCheckpoint<CheckpointHeader>(path);
    expect(file.meta.backend).toBe('cpu');
    const tensors = [...file.tensors].map(([n, t]) => [n, tf.tensor(t.values, t.shape)] as const);
    writeCheckpoint(path, { ...file.meta, backend: 'wasm' }, tensors);
    tf.dispose(tensors.map(([, t]) => t));
    const b = toy();
    const resume = (allowBackendChange: boolean) =>
      fit({ detector: b.det, steps: 3, iterationsPerEpoch: 1, batch: batchOf([]), trainer, checkpoint: { path, every: 0, resume: true, meta: {}, allowBackendChange } });
    const error = await resume(false).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendMismatchError);
    expect((error as Error).message).toMatch(`${path}: the checkpoint was computed on the 'wasm' backend, this process runs 'cpu'`);
    const lines: string[] = [];
    const resumed = await fit({
      detector: b.det,
      steps: 3,
      iterationsPerEpoch: 1,
      batch: batchOf([]),
      trainer,
      checkpoint: { path, every: 0, resume: true, meta: {}, allowBackendChange: true },
      hooks: { log: (l) => lines.push(l) },
    });
    expect(resumed.history).toHaveLength(3);
    expect(lines[0]).toMatch(/checkpoint of the 'wasm' backend on 'cpu'/);
    expect(readCheckpoint<CheckpointHeader>(path).meta.backend).toBe('cpu');
    expect(readFileSync(path).subarray(0, 8).toString('latin1')).toBe('HPFCKPT2');
    b.det.dispose();
  });
});
