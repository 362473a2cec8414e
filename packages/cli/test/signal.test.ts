// Ctrl-C and `kill` as a user sends them: a real SIGINT / SIGTERM to an `hpf train` process (run
// from the sources with tsx, so no build is needed), which must leave a checkpoint of exactly the
// iteration it reports, and a --resume that continues from there.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PRESETS, writeDigitsDet } from '@hpf/digits-det';
import { readCheckpoint } from '@hpf/engine/node';
import type { CheckpointMeta, TrainResult } from '../src/train.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `hpf train args` and, once its log shows iteration `after`, sends it `signal`. The process
 * also reports each iteration while the signal is in flight: the stop lands wherever it lands.
 */
function train(args: string[], stop?: { after: number; signal: NodeJS.Signals }): Promise<Finished> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', './tools/register-tfjs-core-resolve.mjs', 'packages/cli/src/cli.ts', 'train', ...args], {
    cwd: root,
    env: { ...process.env, HPF_WASM_THREADS: '1' },
  });
  let stdout = '';
  let stderr = '';
  let sent = false;
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    const done = [...stdout.matchAll(/^iter (\d+)\//gm)].map((m) => Number(m[1]));
    if (stop !== undefined && !sent && done.some((n) => n >= stop.after)) {
      sent = true;
      child.kill(stop.signal);
    }
  });
  child.stderr.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
  return new Promise((ok, fail) => {
    child.on('error', fail);
    child.on('close', (code) => ok({ code, stdout, stderr }));
  });
}

function stoppedAt(run: Finished): number {
  const m = /stopped at iteration (\d+); checkpoint (.+); continue with --resume/.exec(run.stdout);
  if (m === null) throw new Error(`no 'stopped at' line:\n${run.stdout}\n${run.stderr}`);
  return Number(m[1]);
}

describe('hpf train under real signals', () => {
  it('SIGINT, then SIGTERM on the resumed run: each checkpoint holds the iteration reported; the last resume finishes the run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hpf-cli-signal-'));
    // 48 images at batch 2: 24 iterations per epoch, so no epoch-end checkpoint happens in 12 steps
    // and only the stop itself can write one (--checkpoint-every 0).
    writeDigitsDet(join(dir, 'data'), { preset: PRESETS.quick, seed: 0, train: 48, val: 4 });
    const out = join(dir, 'run');
    const args = [
      ...['--detector', 'atss', '--data', join(dir, 'data'), '--out', out, '--steps', '12', '--batch-size', '2', '--input-size', '64'],
      ...['--backbone', 'resnet10-mini', '--neck-channels', '32', '--feat-channels', '32', '--stacked-convs', '1'],
      ...['--no-eval', '--checkpoint-every', '0', '--log-every', '1', '--backend', 'wasm'],
    ];
    const path = join(out, 'checkpoint.hpf');

    const first = await train(args, { after: 2, signal: 'SIGINT' });
    expect(first.code, first.stderr).toBe(130);
    expect(first.stderr).toContain('SIGINT: stopping after the current iteration');
    const a = stoppedAt(first);
    expect(a).toBeGreaterThanOrEqual(2);
    expect(a).toBeLessThan(12);
    const atA = readCheckpoint<CheckpointMeta>(path).meta;
    expect(atA.iteration).toBe(a);
    expect(atA.history).toHaveLength(a);

    const second = await train([...args, '--resume'], { after: a + 1, signal: 'SIGTERM' });
    expect(second.code, second.stderr).toBe(130);
    expect(second.stdout).toContain(`resuming from ${path} at iteration ${a}`);
    const b = stoppedAt(second);
    expect(b).toBeGreaterThan(a);
    const atB = readCheckpoint<CheckpointMeta>(path).meta;
    expect(atB.iteration).toBe(b);
    // the resumed run continued the first one's records, it did not start over
    expect(atB.history.slice(0, a)).toEqual(atA.history);

    const third = await train([...args, '--resume']);
    expect(third.code, third.stderr).toBe(0);
    expect(third.stdout).toContain(`resuming from ${path} at iteration ${b}`);
    const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as TrainResult;
    expect(result.history.map((r) => r.iteration)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(result.history.slice(0, b)).toEqual(atB.history);
  }, 600_000);
});
