import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { installTrainingKernels } from '@hpf/engine';
import { cpSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readCheckpoint, writeCheckpoint } from '@hpf/engine/node';
import { runTraining, TrainingStoppedError, type CheckpointMeta } from '../src/train.js';
import { tinyDataset, tinyOptions } from './support.js';

let data = '';
beforeAll(async () => {
  installTrainingKernels();
  await tf.setBackend('wasm');
  data = tinyDataset();
});

const scratch = (): string => mkdtempSync(join(tmpdir(), 'hpf-cli-run-'));

/**
 * Rewrites a checkpoint as the CLI wrote it before the focus and optimizer state APIs (format 1:
 * focus {steps, smoothed, records}, momentum buffers by variable index, no optimizer header).
 */
function rewriteAsFormat1(out: string): void {
  const path = join(out, 'checkpoint.hpf');
  const { meta, tensors } = readCheckpoint<CheckpointMeta>(path);
  const { optimizer, focus, ...rest } = meta;
  const legacyMeta = { ...rest, format: 1, focus: focus === null ? null : { steps: focus.steps, smoothed: focus.smoothed, records: focus.history } };
  const renamed = [...tensors].map(([name, t]) => {
    const key = name.startsWith('momentum/') ? `momentum/${optimizer.variables.indexOf(name.slice('momentum/'.length))}` : name;
    return [key, tf.tensor(t.values, t.shape)] as const;
  });
  expect(renamed.filter(([k]) => k.startsWith('momentum/')).every(([k]) => /^momentum\/\d+$/.test(k))).toBe(true);
  writeCheckpoint(path, legacyMeta, renamed);
  tf.dispose(renamed.map(([, t]) => t));
}

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
    const stopped = readCheckpoint<CheckpointMeta>(join(resumedDir, 'checkpoint.hpf')).meta;
    expect(stopped.format).toBe(3);
    expect(stopped.focus).toMatchObject({ format: 1, steps: 3, momentum: 0.5, numLevels: 5 });
    expect(stopped.optimizer.variables).toContain('bbox_head.atss_cls.weight');
    // the same interrupted run, as a checkpoint written before format 2, resumes the same way
    const legacyDir = scratch();
    cpSync(resumedDir, legacyDir, { recursive: true });
    rewriteAsFormat1(legacyDir);
    const legacy = await runTraining(tinyOptions(data, legacyDir, { ...overrides, resume: true }));
    const second = await runTraining(tinyOptions(data, resumedDir, { ...overrides, resume: true }));
    expect(tf.memory().numTensors).toBe(before);
    expect(second.interrupted).toBe(false);

    expect(second.history.map((r) => r.losses)).toEqual(straight.history.map((r) => r.losses));
    expect(second.history.map((r) => r.gammas)).toEqual(straight.history.map((r) => r.gammas));
    const gammas = straight.history.flatMap((r) => r.gammas);
    expect(gammas.some((g) => g > 0.5 && g < 7.5 && g !== 4)).toBe(true);
    expect(legacy.history.map((r) => r.losses)).toEqual(straight.history.map((r) => r.losses));
    expect(legacy.history.map((r) => r.gammas)).toEqual(straight.history.map((r) => r.gammas));
    const a = modelTensors(straightDir);
    expect([...a.keys()].some((k) => k.startsWith('momentum/bbox_head.'))).toBe(true);
    for (const dir of [resumedDir, legacyDir]) {
      const b = modelTensors(dir);
      expect([...b.keys()]).toEqual([...a.keys()]);
      for (const [name, values] of a) expect(Array.from(b.get(name)!), name).toEqual(Array.from(values));
    }
    const result = JSON.parse(readFileSync(join(resumedDir, 'result.json'), 'utf8'));
    expect(result.history).toHaveLength(6);
  });

  it('with scale and colour jitter on, a resume mid-epoch is bit-exact; the jitter changes the batches; a resume with other jitter is refused', async () => {
    const overrides = { steps: 6, scaleJitter: [0.6, 1.4] as [number, number], colorJitter: { brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1 } };
    const before = tf.memory().numTensors;
    const straight = await runTraining(tinyOptions(data, scratch(), overrides));
    expect(tf.memory().numTensors).toBe(before);
    // 8 images, batch 2: 4 iterations per epoch; stopping after iteration 2 resumes at 3, mid-epoch 0
    const resumedDir = scratch();
    const controller = new AbortController();
    const first = await runTraining(tinyOptions(data, resumedDir, overrides), {
      signal: controller.signal,
      onIteration: (e) => {
        if (e.iteration === 2) controller.abort();
      },
    });
    expect(first.history).toHaveLength(3);
    expect(readCheckpoint<CheckpointMeta>(join(resumedDir, 'checkpoint.hpf')).meta.iteration).toBe(3);
    const second = await runTraining(tinyOptions(data, resumedDir, { ...overrides, resume: true }));
    expect(tf.memory().numTensors).toBe(before);
    expect(second.history.map((r) => r.losses)).toEqual(straight.history.map((r) => r.losses));
    expect(second.history.map((r) => r.gammas)).toEqual(straight.history.map((r) => r.gammas));
    const a = modelTensors(resumedDir);
    for (const [name, values] of modelTensors(join(straight.checkpoint, '..'))) expect(Array.from(a.get(name)!), name).toEqual(Array.from(values));
    // args.json records them (null when off)
    const args = JSON.parse(readFileSync(join(resumedDir, 'args.json'), 'utf8')) as { options: Record<string, unknown> };
    expect([args.options.scaleJitter, args.options.colorJitter]).toEqual([overrides.scaleJitter, overrides.colorJitter]);
    // the same first batch without jitter gives another loss
    const plain = await runTraining(tinyOptions(data, scratch(), { steps: 2 }));
    expect(plain.history[0]!.losses).not.toEqual(straight.history[0]!.losses);
    await expect(runTraining(tinyOptions(data, resumedDir, { ...overrides, colorJitter: { brightness: 0.2 }, resume: true }))).rejects.toThrow(
      /--resume with different options \(colorJitter: checkpoint has \{"brightness":0.4,"contrast":0.4,"saturation":0.4,"hue":0.1\}, now \{"brightness":0.2\}\)/,
    );
  });

  it('a resume with different options is refused, naming the option', async () => {
    const out = scratch();
    await runTraining(tinyOptions(data, out, { steps: 2 }));
    await expect(runTraining(tinyOptions(data, out, { steps: 2, resume: true, lr: 0.02 }))).rejects.toThrow(/--resume with different options \(lr: checkpoint has 0.01, now 0.02\)/);
    await expect(runTraining(tinyOptions(data, out, { steps: 2 }))).rejects.toThrow(/checkpoint.hpf exists: pass --resume/);
  });

  it('a checkpoint of an unknown format, or with a broken focus or optimizer state, is refused naming the field', async () => {
    const out = scratch();
    const options = tinyOptions(data, out, { steps: 3, hpf: { momentum: 0.5 } });
    await runTraining(options);
    const path = join(out, 'checkpoint.hpf');
    const good = readCheckpoint<CheckpointMeta>(path);
    const rewrite = (meta: unknown, drop?: string): void => {
      const tensors = [...good.tensors].filter(([n]) => n !== drop).map(([n, t]) => [n, tf.tensor(t.values, t.shape)] as const);
      writeCheckpoint(path, meta, tensors);
      tf.dispose(tensors.map(([, t]) => t));
    };
    const resume = () => runTraining({ ...options, resume: true });
    rewrite({ ...good.meta, format: 4 });
    await expect(resume()).rejects.toThrow(/checkpoint.hpf: checkpoint format 4 is not one this hpf reads \(1, 2, 3\)/);
    rewrite({ ...good.meta, focus: { ...good.meta.focus!, momentum: 0.25 } });
    await expect(resume()).rejects.toThrow(/checkpoint.hpf: ProgressiveFocus.loadState: state.momentum is 0.25 but this ProgressiveFocus has momentum 0.5/);
    rewrite({ ...good.meta, focus: { ...good.meta.focus!, format: 7 } });
    await expect(resume()).rejects.toThrow(/checkpoint.hpf: ProgressiveFocus.loadState: state.format must be 1/);
    const renamed = good.meta.optimizer.variables.map((n, i) => (i === 0 ? 'backbone.renamed' : n));
    rewrite({ ...good.meta, optimizer: { ...good.meta.optimizer, variables: renamed } });
    await expect(resume()).rejects.toThrow(/checkpoint.hpf: SgdMomentum.loadState: state.variables\[0\] is 'backbone.renamed', this optimizer's variable 0 is 'backbone.conv1.weight'/);
    const bias = [...good.tensors.keys()].find((n) => n.startsWith('momentum/') && n.endsWith('.bias'))!;
    const weight = [...good.tensors.keys()].find((n) => n.startsWith('momentum/') && n.endsWith('.weight'))!;
    const swapped = [...good.tensors].map(([n, t]) => [n === bias ? weight : n === weight ? bias : n, tf.tensor(t.values, t.shape)] as const);
    writeCheckpoint(path, good.meta, swapped);
    tf.dispose(swapped.map(([, t]) => t));
    // The two swapped buffers both have the wrong shape now; the check names whichever comes first.
    const either = [weight, bias].map((n) => n.slice('momentum/'.length).replace(/\./g, '\\.')).join('|');
    await expect(resume()).rejects.toThrow(new RegExp(`checkpoint.hpf: SgdMomentum.loadState: state.momentum '(${either})' has shape`));
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
