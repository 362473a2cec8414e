// Retrains the first iterations of finished runs with the code checked out now and compares each
// iteration's losses and per-level gammas with the run's committed history. A sweep spread over
// sessions may resume from a newer commit; this shows the newer code trains the same protocol
// bit for bit (same seed and backend) before it adds runs to the bench folder.
//   node examples/stable-gain/reproduce.mjs [--bench examples/stable-gain/results] [--iterations 20]
//     [--detectors atss,fcos] [--seed 0] [--arm hpf|baseline]
// Exit code 1 when any compared number differs.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { planRuns, readBenchConfig, trainArgs } from '@hpf/cli';

const { values } = parseArgs({
  options: {
    bench: { type: 'string', default: 'examples/stable-gain/results' },
    iterations: { type: 'string', default: '20' },
    detectors: { type: 'string' },
    seed: { type: 'string', default: '0' },
    arm: { type: 'string', default: 'hpf' },
  },
  strict: true,
});
const bench = resolve(values.bench);
const iterations = Number(values.iterations);
if (!Number.isInteger(iterations) || iterations < 1) throw new Error(`--iterations must be a positive integer, got '${values.iterations}'`);
if (values.arm !== 'hpf' && values.arm !== 'baseline') throw new Error(`--arm must be hpf or baseline, got '${values.arm}'`);
const config = readBenchConfig(bench);
const detectors = values.detectors?.split(',') ?? config.detectors;
const cli = resolve('packages/cli/dist/cli.js');
const work = mkdtempSync(join(tmpdir(), 'hpf-reproduce-'));

/** results.csv as objects keyed by column (loss terms, gamma_P3..., pos_P3...). */
function readCsv(file) {
  if (!existsSync(file)) return [];
  const [header, ...lines] = readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0);
  const names = header.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, k) => [names[k], v === '' ? null : Number(v)])));
}
let differs = false;

for (const detector of detectors) {
  const run = planRuns(config, bench).find((r) => r.detector === detector && r.seed === Number(values.seed) && r.hpf === (values.arm === 'hpf'));
  if (run === undefined) throw new Error(`${bench}: no ${values.arm} run of ${detector} with seed ${values.seed} in this bench`);
  const resultFile = join(run.dir, 'result.json');
  if (!existsSync(resultFile)) throw new Error(`${resultFile} not found: ${run.id} has not finished`);
  const committed = JSON.parse(readFileSync(resultFile, 'utf8'));
  const out = join(work, run.id);
  // The run's own arguments (same data cache, so the same images), logging every iteration.
  const args = [...trainArgs(config, { ...run, dir: out }, join(bench, 'data')).filter((a) => a !== '--resume'), '--log-every', '1'];
  const csv = join(out, 'results.csv');
  const rowsSoFar = () => readCsv(csv);
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b) => (stderr += b));
  // Training is stopped as soon as the iterations to compare are logged: no checkpoint is needed.
  await new Promise((done) => {
    const poll = setInterval(() => {
      if (child.exitCode !== null || child.signalCode !== null || rowsSoFar().length >= iterations) {
        clearInterval(poll);
        child.kill('SIGKILL');
        done();
      }
    }, 500);
  });
  const rows = rowsSoFar().slice(0, iterations);
  if (rows.length < iterations) throw new Error(`${run.id}: training stopped after ${rows.length} logged iterations\n${stderr.slice(-2000)}`);
  let loss = 0;
  let gamma = 0;
  let positives = 0;
  for (const row of rows) {
    const then = committed.history[row.iteration - 1];
    for (const [term, value] of Object.entries(then.losses)) {
      const now = row[term === 'total' ? 'loss' : term];
      loss = Math.max(loss, Math.abs(now - value) / Math.max(Math.abs(value), 1e-12));
    }
    then.gammas.forEach((g, l) => (gamma = Math.max(gamma, Math.abs(row[`gamma_P${l + 3}`] - g))));
    then.positives.forEach((p, l) => (positives = Math.max(positives, Math.abs(row[`pos_P${l + 3}`] - p))));
  }
  if (!(loss === 0 && gamma === 0 && positives === 0)) differs = true;
  console.log(`${run.id}: ${rows.length} iterations; largest relative loss-term difference ${loss.toExponential(2)}, largest gamma difference ${gamma.toExponential(2)}, largest positives difference ${positives}`);
}
rmSync(work, { recursive: true, force: true });
console.log(differs ? 'the current code does NOT reproduce these runs' : 'the current code reproduces these runs exactly');
process.exitCode = differs ? 1 : 0;
