import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { installTrainingKernels } from '@hpf/engine';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readCheckpoint } from '@hpf/engine/node';
import { runTraining, TRAIN_DEFAULTS, type CheckpointMeta, type IterationRecord, type TrainResult } from '../src/train.js';
import { openRun } from '../src/run-files.js';
import { parseResultsCsv, resultsCsv, rowsFromHistory } from '../src/results-csv.js';
import { tinyDataset, tinyOptions } from './support.js';

let data = '';
beforeAll(async () => {
  installTrainingKernels();
  await tf.setBackend('wasm');
  data = tinyDataset();
});

const scratch = (): string => mkdtempSync(join(tmpdir(), 'hpf-cli-folder-'));

/** results.csv as header + rows of cells, numbers parsed ('' stays null). */
function readCsv(dir: string): { header: string[]; rows: Array<Record<string, number | null>> } {
  const [head, ...lines] = readFileSync(join(dir, 'results.csv'), 'utf8').trimEnd().split('\n');
  const header = head!.split(',');
  return { header, rows: lines.map((l) => Object.fromEntries(l.split(',').map((c, i) => [header[i]!, c === '' ? null : Number(c)]))) };
}

/** A row's record cells equal the history record of its iteration, to the last bit. */
function expectRowsEqualHistory(rows: ReadonlyArray<Record<string, number | null>>, history: readonly IterationRecord[], perEpoch: number): void {
  for (const row of rows) {
    const record = history[row.iteration! - 1]!;
    expect(record.iteration).toBe(row.iteration! - 1);
    expect(row.epoch).toBe(Math.floor(record.iteration / perEpoch));
    expect(row.loss).toBe(record.losses.total);
    for (const [k, v] of Object.entries(record.losses)) if (k !== 'total') expect(row[k], k).toBe(v);
    expect(row.lr).toBe(record.lr);
    record.gammas.forEach((g, l) => expect(row[`gamma_P${l + 3}`]).toBe(g));
    record.positives.forEach((p, l) => expect(row[`pos_P${l + 3}`]).toBe(p));
  }
}

describe('run folder', () => {
  it('args.json, results.csv (a row per log step and validation, values of the history), curves, best.hpf', async () => {
    const out = scratch();
    // 8 images, batch 2: 4 iterations per epoch; validations at 2 and 4 (1e = 4 iterations would give one)
    const options = tinyOptions(data, out, { steps: 6, valEvery: 2, logEvery: 3, evaluate: true });
    const lines: string[] = [];
    const argsSeenAtFirstIteration: unknown[] = [];
    const result = await runTraining(options, {
      log: (l) => lines.push(l),
      onIteration: (e) => {
        if (e.iteration === 0) argsSeenAtFirstIteration.push(JSON.parse(readFileSync(join(out, 'args.json'), 'utf8')));
      },
    });
    // args.json was there before the first iteration, with every option resolved
    const args = JSON.parse(readFileSync(join(out, 'args.json'), 'utf8'));
    expect(argsSeenAtFirstIteration).toEqual([args]);
    expect(args.options).toMatchObject({ detector: 'atss', steps: 6, batchSize: 2, inputSize: 64, warmupIters: 1, lrSteps: [4, 6], valEvery: 2, valEveryEpochs: null, patience: null, logEvery: 3, lr: TRAIN_DEFAULTS.lr, clipGradNorm: null });
    expect(Object.values(args.options)).not.toContain(undefined);
    expect(args.derived).toMatchObject({ iterationsPerEpoch: 4, epochs: 2, valEveryIterations: 2, trainImages: 8, valImages: 4, smallInputPriors: true });

    // rows: first, log steps (3, 6), validations (2, 4), the last (6)
    const { header, rows } = readCsv(out);
    const levels = ['P3', 'P4', 'P5', 'P6', 'P7'];
    const terms = Object.keys(result.history[0]!.losses).filter((k) => k !== 'total');
    expect(header).toEqual(['iteration', 'epoch', ...terms, 'loss', 'lr', ...levels.map((l) => `gamma_${l}`), ...levels.map((l) => `pos_${l}`), 'img_s', 'val_AP', 'val_AP50']);
    expect(rows.map((r) => r.iteration)).toEqual([1, 2, 3, 4, 6]);
    expectRowsEqualHistory(rows, result.history, 4);
    expect(rows.every((r) => r.img_s! > 0)).toBe(true);
    expect(result.validations!.map((v) => v.iteration)).toEqual([2, 4]);
    for (const v of result.validations!) {
      const row = rows.find((r) => r.iteration === v.iteration)!;
      expect([row.val_AP, row.val_AP50]).toEqual([v.ap, v.ap50]);
    }
    // the final evaluation fills the last row
    expect([rows.at(-1)!.val_AP, rows.at(-1)!.val_AP50]).toEqual([result.stats!.AP, result.stats!.AP50]);
    expect(rows.filter((r) => r.val_AP !== null)).toHaveLength(3);

    // curves: SVG with the four panels' titles, a PNG
    const svg = readFileSync(join(out, 'curves.svg'), 'utf8');
    for (const title of ['loss', 'learning rate', 'val AP (%)', 'gamma']) expect(svg).toContain(title);
    expect(readFileSync(join(out, 'curves.png')).subarray(1, 4).toString('latin1')).toBe('PNG');

    // best.hpf: the best of the validations and the final model, by AP (the earliest of equals)
    const measured = [...result.validations!.map((v) => ({ iteration: v.iteration, ap: v.ap })), { iteration: 6, ap: result.stats!.AP }];
    const best = measured.reduce((a, b) => (b.ap > a.ap ? b : a));
    expect(result.best).toMatchObject({ iteration: best.iteration, ap: best.ap, checkpoint: join(out, 'best.hpf') });
    const bestMeta = readCheckpoint<CheckpointMeta>(join(out, 'best.hpf')).meta;
    expect(bestMeta.iteration).toBe(best.iteration);
    expect(bestMeta.history).toEqual(result.history.slice(0, best.iteration));
    // eval / predict / export open it like checkpoint.hpf
    const run = await openRun(out, 'best.hpf');
    expect(run.meta.iteration).toBe(best.iteration);
    expect(run.path).toBe(join(out, 'best.hpf'));
    run.detector.dispose();
    const stored = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as TrainResult;
    expect(stored.best).toEqual(result.best);
    expect(stored.earlyStop).toBeUndefined();
  });

  it('a crashed run keeps what it wrote; the resume drops the rows after the checkpoint and appends without duplicates', async () => {
    const out = scratch();
    const options = tinyOptions(data, out, { steps: 7, logEvery: 1, checkpointEvery: 2 });
    // A crash after iteration 5 (an exception out of the loop, as a failing hook throws): the
    // checkpoint is the one at 4, results.csv has rows 1-5.
    const crash = runTraining(options, {
      onIteration: (e) => {
        if (e.iteration === 4) throw new Error('simulated crash');
      },
    });
    await expect(crash).rejects.toThrow('simulated crash');
    expect(existsSync(join(out, 'args.json'))).toBe(true);
    expect(existsSync(join(out, 'result.json'))).toBe(false);
    const crashed = readCsv(out).rows;
    expect(crashed.map((r) => r.iteration)).toEqual([1, 2, 3, 4, 5]);
    const atCrash = readCheckpoint<CheckpointMeta>(join(out, 'checkpoint.hpf')).meta;
    expect(atCrash.iteration).toBe(4);
    expectRowsEqualHistory(crashed.slice(0, 4), atCrash.history, 4);
    // no temporary file is left beside them
    expect(readdirSync(out).filter((f) => f.includes('.tmp'))).toEqual([]);

    const result = await runTraining({ ...options, resume: true });
    const { rows } = readCsv(out);
    expect(rows.map((r) => r.iteration)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expectRowsEqualHistory(rows, result.history, 4);
    // rows 1-4 are the crashed run's lines, throughput included
    expect(rows.slice(0, 4).map((r) => r.img_s)).toEqual(crashed.slice(0, 4).map((r) => r.img_s));
    // a second resume of the finished run adds nothing
    await runTraining({ ...options, resume: true });
    expect(readCsv(out).rows.map((r) => r.iteration)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('a resumed run without results.csv rebuilds it from the checkpoint history', async () => {
    const out = scratch();
    const options = tinyOptions(data, out, { steps: 5, logEvery: 2 });
    const controller = new AbortController();
    await runTraining(options, { signal: controller.signal, onIteration: (e) => e.iteration === 2 && controller.abort() });
    // interrupted at 3: rows 1, 2 and the last, 3
    expect(readCsv(out).rows.map((r) => r.iteration)).toEqual([1, 2, 3]);
    rmSync(join(out, 'results.csv'));
    const lines: string[] = [];
    const result = await runTraining({ ...options, resume: true }, { log: (l) => lines.push(l) });
    expect(lines.some((l) => l.includes('results.csv: rebuilt from the checkpoint'))).toBe(true);
    const { rows } = readCsv(out);
    expect(rows.map((r) => r.iteration)).toEqual([1, 2, 3, 4, 5]);
    expect(rows.map((r) => r.img_s === null)).toEqual([true, true, true, false, false]);
    expectRowsEqualHistory(rows, result.history, 4);
  });

  it('a folder with another run\'s args.json or files is refused before any work; the same run may restart', async () => {
    const out = scratch();
    const options = tinyOptions(data, out, { steps: 2 });
    await runTraining(options);
    const before = readFileSync(join(out, 'results.csv'), 'utf8');
    // as if the run had crashed before its first checkpoint
    rmSync(join(out, 'checkpoint.hpf'));
    rmSync(join(out, 'result.json'));
    await expect(runTraining({ ...options, lr: 0.02 })).rejects.toThrow(/args\.json: this folder holds another run \(lr: .* 0\.01, .* 0\.02\); choose another --out/);
    expect(readFileSync(join(out, 'results.csv'), 'utf8')).toBe(before);
    // the same options: a restart of that run, which rewrites its files
    await runTraining(options);
    expect(readCsv(out).rows.map((r) => r.iteration)).toEqual([1, 2]);

    const foreign = scratch();
    writeFileSync(join(foreign, 'results.csv'), 'x\n');
    await expect(runTraining(tinyOptions(data, foreign, { steps: 2 }))).rejects.toThrow(/results\.csv exists but args\.json does not/);
    expect(readFileSync(join(foreign, 'results.csv'), 'utf8')).toBe('x\n');
  });

  it('--patience stops after k validations without a better AP, says so, records it, and a resume is refused', async () => {
    const out = scratch();
    // lr 1e-9: the weights hardly move, so AP does not improve after the first validation
    const options = tinyOptions(data, out, { steps: 8, lr: 1e-9, valEvery: 1, patience: 2, evaluate: false });
    const lines: string[] = [];
    const result = await runTraining(options, { log: (l) => lines.push(l) });
    const v = result.validations!;
    expect(v.map((x) => x.iteration)).toEqual([1, 2, 3]);
    expect(v[1]!.ap).toBeLessThanOrEqual(v[0]!.ap);
    expect(v[2]!.ap).toBeLessThanOrEqual(v[0]!.ap);
    const message = `early stop at iteration 3: val AP has not improved for 2 validations, best ${(100 * v[0]!.ap).toFixed(2)} at iteration 1`;
    expect(lines).toContain(message);
    expect(result.history).toHaveLength(3);
    expect(result.interrupted).toBe(false);
    expect(result.earlyStop).toEqual({ iteration: 3, patience: 2, bestIteration: 1, bestAp: v[0]!.ap, message });
    expect(JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')).earlyStop).toEqual(result.earlyStop);
    expect(readCheckpoint<CheckpointMeta>(join(out, 'checkpoint.hpf')).meta.iteration).toBe(3);
    expect(readCheckpoint<CheckpointMeta>(join(out, 'best.hpf')).meta.iteration).toBe(1);
    expect(readCsv(out).rows.map((r) => [r.iteration, r.val_AP])).toEqual(v.map((x) => [x.iteration, x.ap]));
    await expect(runTraining({ ...options, resume: true })).rejects.toThrow(/this run already stopped early \(early stop at iteration 3: .*\); resume with a larger --patience/);
  });

  it('names bad validation options', async () => {
    const out = scratch();
    await expect(runTraining(tinyOptions(data, out, { patience: 2 }))).rejects.toThrow('--patience counts validations: it needs --val-every');
    await expect(runTraining(tinyOptions(data, out, { valEvery: 3, valEveryEpochs: 1 }))).rejects.toThrow(/given in iterations \(3\) and in epochs \(1e\)/);
  });
});

describe('results.csv rows', () => {
  const record = (i: number): IterationRecord => ({ iteration: i, lr: 0.01 / 3, losses: { loss_cls: 1 / 3 + i, loss_bbox: 0.1, total: 1 / 3 + i + 0.1 }, gammas: [2, 2.25], positives: [5, i] });
  const history = Array.from({ length: 7 }, (_, i) => record(i));
  it('round-trips to the float64 and rejects a file of another history', () => {
    const rows = rowsFromHistory(history, 3, 3);
    expect(rows.map((r) => [r.iteration, r.epoch])).toEqual([[1, 0], [3, 0], [6, 1], [7, 2]]);
    rows[1]!.valAp = 0.123456789012345;
    const text = resultsCsv(rows);
    expect(text.split('\n')[0]).toBe('iteration,epoch,loss_cls,loss_bbox,loss,lr,gamma_P3,gamma_P4,pos_P3,pos_P4,img_s,val_AP,val_AP50');
    expect(parseResultsCsv(text, history)).toEqual(rows);
    // rows beyond the history (trained after the last checkpoint) are dropped
    expect(parseResultsCsv(text, history.slice(0, 6))!.map((r) => r.iteration)).toEqual([1, 3, 6]);
    const other = history.map((r) => ({ ...r, lr: r.lr * 2 }));
    expect(parseResultsCsv(text, other)).toBeUndefined();
  });
});
