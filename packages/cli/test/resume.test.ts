import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '@hpf/engine';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readCheckpoint } from '../src/checkpoint.js';
import { runTraining, TrainingStoppedError, type CheckpointMeta } from '../src/train.js';
import { tinyDataset, tinyOptions } from './support.js';

let data = '';
beforeAll(async () => {
  registerWasmTrainingKernels();
  await tf.setBackend('wasm');
  data = tinyDataset();
});

const scratch = (): string => mkdtempSync(join(tmpdir(), 'hpf-cli-run-'));

function modelTensors(out: string): Map<string, Float32Array> {
  const file = readCheckpoint<CheckpointMeta>(join(out, 'checkpoint.hpf'));
  return new Map([...file.tensors].map(([k, v]) => [k, v.values]));
}

describe('resume', () => {
  it('N steps straight equal N/2 steps, stop, then --resume for the rest (weights, momentum, losses)', async () => {
    // An EMA of the statistic (momentum 0.5) makes the focus state part of what must be restored;
    // the wide gamma range [0.5, 7.5] keeps the statistic (about -log 0.01 at init) unclipped.
    const overrides = { steps: 6, hpf: { gamma0: 4, delta: 3.5, momentum: 0.5 } };
    const straightDir = scratch();
    const before = tf.memory().numTensors;
    const straight = await runTraining(tinyOptions(data, straightDir, overrides));
    // the run frees its model, optimizer state and every batch
    expect(tf.memory().numTensors).toBe(before);

    const resumedDir = scratch();
    const controller = new AbortController();
    const first = await runTraining(tinyOptions(data, resumedDir, overrides), {
      signal: controller.signal,
      onIteration: (e) => {
        if (e.iteration === 2) controller.abort();
      },
    });
    expect(first.interrupted).toBe(true);
    expect(first.history).toHaveLength(3);
    expect(existsSync(join(resumedDir, 'result.json'))).toBe(false);
    const second = await runTraining(tinyOptions(data, resumedDir, { ...overrides, resume: true }));
    expect(tf.memory().numTensors).toBe(before);
    expect(second.interrupted).toBe(false);

    expect(second.history.map((r) => r.losses)).toEqual(straight.history.map((r) => r.losses));
    expect(second.history.map((r) => r.gammas)).toEqual(straight.history.map((r) => r.gammas));
    const gammas = straight.history.flatMap((r) => r.gammas);
    expect(gammas.some((g) => g > 0.5 && g < 7.5 && g !== 4)).toBe(true);
    const a = modelTensors(straightDir);
    const b = modelTensors(resumedDir);
    expect([...b.keys()]).toEqual([...a.keys()]);
    expect([...a.keys()].some((k) => k.startsWith('momentum/'))).toBe(true);
    for (const [name, values] of a) expect(Array.from(b.get(name)!), name).toEqual(Array.from(values));
    const result = JSON.parse(readFileSync(join(resumedDir, 'result.json'), 'utf8'));
    expect(result.history).toHaveLength(6);
  });

  it('a resume with different options is refused, naming the option', async () => {
    const out = scratch();
    await runTraining(tinyOptions(data, out, { steps: 2 }));
    await expect(runTraining(tinyOptions(data, out, { steps: 2, resume: true, lr: 0.02 }))).rejects.toThrow(/--resume with different options \(lr: checkpoint has 0.01, now 0.02\)/);
    await expect(runTraining(tinyOptions(data, out, { steps: 2 }))).rejects.toThrow(/checkpoint.hpf exists: pass --resume/);
  });

  it('a non-finite loss stops the run naming the iteration and the loss term; the checkpoint is kept', async () => {
    const out = scratch();
    // A learning rate of 1e8 with no warm-up blows the weights up within a few iterations.
    const options = tinyOptions(data, out, { steps: 12, lr: 1e8, warmupIters: 0, checkpointEvery: 1 });
    const error = await runTraining(options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TrainingStoppedError);
    const stopped = error as TrainingStoppedError;
    expect(stopped.message).toMatch(new RegExp(`non-finite loss at iteration ${stopped.iteration}: loss term '${stopped.term}' is (NaN|Infinity|-Infinity)`));
    expect(stopped.message).toContain('is intact');
    expect(stopped.iteration).toBeGreaterThan(0);
    const meta = readCheckpoint<CheckpointMeta>(join(out, 'checkpoint.hpf')).meta;
    expect(meta.iteration).toBe(stopped.iteration);
    expect(meta.history.every((r) => Object.values(r.losses).every(Number.isFinite))).toBe(true);
  });
});
