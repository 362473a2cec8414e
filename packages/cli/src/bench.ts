/**
 * The stable-gain protocol (docs/architecture.md section 5): for every detector and seed, train `hpf: false`
 * and `hpf: true` with identical data order, initial weights and schedule, then evaluate both on
 * the same validation split. Each run is its own `hpf train` process (the wasm backend uses one
 * core per process); a run is done when its result.json exists, so re-running the same command
 * skips finished runs and resumes interrupted ones from their checkpoints.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '@hpf/data';
import { CHECKPOINT_FILE, RESULT_FILE } from './train.js';
import { resolveData } from './data-source.js';
import { codeVersion, type CodeVersion } from './version.js';

export interface BenchPreset {
  data: string;
  steps: number;
  batchSize: number;
  lr: number;
  /** Detectors trained at another learning rate (both arms): those that do not learn at `lr`. */
  lrByDetector: Readonly<Record<string, number>>;
  /** Per-detector iteration counts that replace `steps` for both arms. */
  stepsByDetector: Readonly<Record<string, number>>;
  backbone: string;
  /** `hpf train` arguments every run of the preset gets (network size, clipping). */
  trainArgs: readonly string[];
}

/**
 * quick: the network and recipe whose torchvision twin reaches AP ~21 on digits-det quick (4,096
 * training images) at 3,000 iterations (examples/parity): resnet10-mini, 32-channel FPN and heads
 * with 2 stacked convs, batch 8, lr 0.03 with 100 warm-up iterations and steps at 2/3 and 11/12.
 * Gradient clipping at 35 (mmdetection's value for FCOS-style heads) is a safety net against one
 * diverging run at lr 0.03; both arms get it, so the comparison stays paired. Validation AP every
 * 500 iterations gives each run its learning curve.
 */
const SMALL_NETWORK = ['--neck-channels', '32', '--feat-channels', '32', '--stacked-convs', '2', '--clip-grad-norm', '35', '--val-every', '500'] as const;

export const BENCH_PRESETS: Readonly<Record<'quick' | 'full', BenchPreset>> = {
  quick: {
    data: 'digits-det:quick',
    steps: 3000,
    batchSize: 8,
    lr: 0.03,
    // At lr 0.03 FreeAnchor's positive bag loss and FoveaBox's losses stall (AP 0.02 and 0.00 after
    // 800 iterations); at 0.01, mmdetection's rate for both, they learn (AP 0.95 and 2.72 at 800 iterations).
    lrByDetector: { freeanchor: 0.01, foveabox: 0.01 },
    // The three slowest learners here were still climbing at 3,000 iterations with baselines below
    // AP 15 (RetinaNet 9.5 and 7.0, FreeAnchor 6.2, FoveaBox 14.8; val AP +2-4 points per 500
    // iterations at the end): they get twice the iterations, the same schedule stretched.
    stepsByDetector: { retinanet: 6000, freeanchor: 6000, foveabox: 6000 },
    backbone: 'resnet10-mini',
    trainArgs: SMALL_NETWORK,
  },
  full: { data: 'digits-det:full', steps: 6000, batchSize: 8, lr: 0.01, lrByDetector: {}, stepsByDetector: {}, backbone: 'resnet18-mini', trainArgs: [] },
};

export interface BenchConfig {
  format: 1;
  preset: 'quick' | 'full';
  detectors: string[];
  seeds: number[];
  data: string;
  steps: number;
  batchSize: number;
  lr: number;
  /** Per-detector learning rates that replace `lr` for both arms (absent: none). */
  lrByDetector?: Record<string, number>;
  /** Per-detector iteration counts that replace `steps` for both arms (absent: none). */
  stepsByDetector?: Record<string, number>;
  backbone: string;
  /** HPF settings of the `hpf` arm (the same for every detector: no per-detector retuning). */
  hpfDelta: number;
  /** Extra `hpf train` arguments shared by every run (e.g. --input-size). */
  extraArgs: string[];
}

export interface BenchRun {
  id: string;
  detector: string;
  seed: number;
  hpf: boolean;
  dir: string;
}

/**
 * A slice of a bench for one machine (`--shard i/n`, i in 1..n): the runs at plan positions
 * i - 1, i - 1 + n, ... Every shard plans the same runs, so n machines with the same command and
 * their own i cover the bench once between them, and `hpf report` merges their folders.
 */
export interface Shard {
  index: number;
  count: number;
}

export function parseShard(spec: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(spec.trim());
  const index = m === null ? NaN : Number(m[1]);
  const count = m === null ? NaN : Number(m[2]);
  if (!(count >= 1 && index >= 1 && index <= count)) throw new Error(`--shard must be i/n with 1 <= i <= n (e.g. 2/4), got '${spec}'`);
  return { index, count };
}

export function shardRuns<T>(runs: readonly T[], shard: Shard | undefined): T[] {
  return shard === undefined ? [...runs] : runs.filter((_, k) => k % shard.count === shard.index - 1);
}

export type RunStatus = 'done' | 'partial' | 'pending';

/** The folder name of one run of a bench. */
export const runId = (detector: string, seed: number, hpf: boolean): string => `${detector}-seed${seed}-${hpf ? 'hpf' : 'baseline'}`;

/**
 * Every run of a bench, seed-major: all detectors' seed 0 (both arms) come first, so a sweep that
 * is stopped part-way has whole seeds for every detector (each baseline's AP at the preset shows
 * early) rather than all seeds of the first detectors.
 */
export function planRuns(config: BenchConfig, benchDir: string): BenchRun[] {
  const runs: BenchRun[] = [];
  for (const seed of config.seeds) {
    for (const detector of config.detectors) {
      for (const hpf of [false, true]) {
        const id = runId(detector, seed, hpf);
        runs.push({ id, detector, seed, hpf, dir: join(resolve(benchDir), 'runs', id) });
      }
    }
  }
  return runs;
}

export function runStatus(run: BenchRun): RunStatus {
  if (existsSync(join(run.dir, RESULT_FILE))) return 'done';
  if (existsSync(join(run.dir, CHECKPOINT_FILE))) return 'partial';
  return 'pending';
}

export const BENCH_FILE = 'bench.json';
/** Wall-clock record of every run and the machine it ran on, so a report can say what it took. */
export const TIMING_FILE = 'timing.json';

export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  platform: string;
}

export interface RunTiming {
  id: string;
  start: string;
  end: string;
  wallSeconds: number;
  exit: number | string;
  /** Runs started by the same `runBench` call share a session (a resumed bench has several). */
  session: number;
  machine: MachineInfo;
  /** Runs that were going on at the same time, this one included (the --jobs of the session). */
  jobs: number;
  /** The code that trained the run; absent in entries written before it was recorded. */
  code?: CodeVersion;
}

export function machineInfo(): MachineInfo {
  const list = cpus();
  return {
    cpu: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}

/** wasm threads for each of `jobs` concurrent runs: the available cores shared out, 1 to 8. */
export function wasmThreadsPerJob(jobs: number, cores = availableParallelism()): number {
  return Math.max(1, Math.min(8, Math.floor(cores / Math.max(1, jobs))));
}

export function readTimings(benchDir: string): RunTiming[] {
  const file = join(resolve(benchDir), TIMING_FILE);
  if (!existsSync(file)) return [];
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as { runs?: RunTiming[] };
  if (!Array.isArray(parsed.runs)) throw new Error(`${file}: expected {"runs": [...]}`);
  return parsed.runs;
}

function appendTiming(benchDir: string, timing: RunTiming): void {
  const runs = readTimings(benchDir);
  runs.push(timing);
  writeFileAtomic(join(resolve(benchDir), TIMING_FILE), JSON.stringify({ runs }, null, 1));
}

/**
 * Writes bench.json, or checks that an existing one describes the same protocol. The one change
 * allowed is more seeds (`--seeds 5` on a folder of `--seeds 3`): the finished runs stay valid, and
 * the new seeds are returned so the caller can say so.
 */
export function openBench(benchDir: string, config: BenchConfig): number[] {
  const file = join(resolve(benchDir), BENCH_FILE);
  if (existsSync(file)) {
    const previous = JSON.parse(readFileSync(file, 'utf8')) as BenchConfig;
    for (const key of Object.keys(config) as (keyof BenchConfig)[]) {
      const a = JSON.stringify(previous[key]);
      const b = JSON.stringify(config[key]);
      if (a === b || (key === 'seeds' && previous.seeds.every((seed) => config.seeds.includes(seed)))) continue;
      throw new Error(`${file}: this bench folder was started with ${key} = ${a}, now ${b}; use another --out or the same settings to resume`);
    }
    const added = config.seeds.filter((seed) => !previous.seeds.includes(seed));
    if (added.length > 0) writeFileAtomic(file, JSON.stringify({ ...previous, seeds: config.seeds }, null, 1));
    return added;
  }
  writeFileAtomic(file, JSON.stringify(config, null, 1));
  return [];
}

export function readBenchConfig(benchDir: string): BenchConfig {
  const file = join(resolve(benchDir), BENCH_FILE);
  if (!existsSync(file)) throw new Error(`${file} not found: not a bench folder (run 'hpf bench stable-gain --out ${benchDir}' first)`);
  return JSON.parse(readFileSync(file, 'utf8')) as BenchConfig;
}

/** The iterations of `detector`'s runs. */
export function stepsOf(config: BenchConfig, detector: string): number {
  return config.stepsByDetector?.[detector] ?? config.steps;
}

/** The `hpf train` arguments of one run. */
export function trainArgs(config: BenchConfig, run: BenchRun, dataCache: string): string[] {
  const args = [
    'train',
    '--detector', run.detector,
    run.hpf ? '--hpf' : '--no-hpf',
    '--data', config.data,
    '--data-cache', dataCache,
    '--out', run.dir,
    '--steps', String(stepsOf(config, run.detector)),
    '--batch-size', String(config.batchSize),
    '--lr', String(config.lrByDetector?.[run.detector] ?? config.lr),
    '--seed', String(run.seed),
    '--backbone', config.backbone,
    '--log-every', '25',
    ...config.extraArgs,
  ];
  if (run.hpf) args.push('--hpf-delta', String(config.hpfDelta));
  if (runStatus(run) === 'partial') args.push('--resume');
  return args;
}

export interface RunBenchOptions {
  jobs: number;
  /** The `hpf` entry script that children run (dist/cli.js). */
  cliPath: string;
  log?: (line: string) => void;
  signal?: AbortSignal;
  /** Run only this slice of the plan (`--shard i/n`). */
  shard?: Shard;
}

export interface BenchOutcome {
  done: string[];
  failed: Array<{ id: string; reason: string }>;
  skipped: string[];
}

export async function runBench(benchDir: string, config: BenchConfig, options: RunBenchOptions): Promise<BenchOutcome> {
  const log = options.log ?? (() => {});
  const added = openBench(benchDir, config);
  if (added.length > 0) log(`seeds ${added.join(', ')} added to this bench folder; its finished runs are kept`);
  const dataCache = join(resolve(benchDir), 'data');
  // Generate the data once here, so parallel children never race to write it.
  resolveData(config.data, { cacheDir: dataCache, log });
  const runs = shardRuns(planRuns(config, benchDir), options.shard);
  if (options.shard !== undefined) log(`shard ${options.shard.index}/${options.shard.count}: ${runs.length} of ${planRuns(config, benchDir).length} runs`);
  const outcome: BenchOutcome = { done: [], failed: [], skipped: [] };
  const queue = runs.filter((r) => {
    if (runStatus(r) !== 'done') return true;
    outcome.skipped.push(r.id);
    return false;
  });
  log(`${runs.length} runs: ${outcome.skipped.length} already finished, ${queue.length} to run (${queue.filter((r) => runStatus(r) === 'partial').length} resumed), ${options.jobs} at a time`);
  const session = Math.max(0, ...readTimings(benchDir).map((t) => t.session + 1));
  const machine = machineInfo();
  const codeInfo = codeVersion();
  const children = new Set<ChildProcess>();
  const stop = (): void => {
    for (const c of children) c.kill('SIGINT');
  };
  options.signal?.addEventListener('abort', stop, { once: true });

  // Concurrent runs share the cores: a caller's HPF_WASM_THREADS (wasm defaults to 1 thread) is
  // capped at cores / jobs per child, since threads beyond the cores only contend.
  const callerThreads = Number(process.env.HPF_WASM_THREADS);
  const childEnv =
    Number.isInteger(callerThreads) && callerThreads > 1
      ? { ...process.env, HPF_WASM_THREADS: String(Math.min(callerThreads, wasmThreadsPerJob(options.jobs))) }
      : process.env;

  const worker = async (): Promise<void> => {
    while (queue.length > 0 && !options.signal?.aborted) {
      const run = queue.shift()!;
      mkdirSync(run.dir, { recursive: true });
      const args = trainArgs(config, run, dataCache);
      log(`start ${run.id}${args.includes('--resume') ? ' (resuming)' : ''}`);
      const logFile = createWriteStream(join(run.dir, 'train.log'), { flags: 'a' });
      const started = performance.now();
      const startedAt = new Date().toISOString();
      const code = await new Promise<number | string>((ok) => {
        const child = spawn(process.execPath, [options.cliPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv });
        children.add(child);
        child.stdout.pipe(logFile, { end: false });
        child.stderr.pipe(logFile, { end: false });
        child.on('error', (e) => ok(e.message));
        child.on('exit', (c, signal) => {
          children.delete(child);
          ok(c ?? signal ?? 'unknown');
        });
      });
      logFile.end();
      const wallSeconds = (performance.now() - started) / 1000;
      const secs = wallSeconds.toFixed(0);
      appendTiming(benchDir, { id: run.id, start: startedAt, end: new Date().toISOString(), wallSeconds, exit: code, session, machine, jobs: Math.max(1, options.jobs), code: codeInfo });
      if (code === 0 && runStatus(run) === 'done') {
        outcome.done.push(run.id);
        log(`done  ${run.id} in ${secs} s`);
      } else if (!options.signal?.aborted) {
        outcome.failed.push({ id: run.id, reason: `exit ${code}; see ${join(run.dir, 'train.log')}` });
        log(`FAIL  ${run.id} (exit ${code}); see ${join(run.dir, 'train.log')}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.jobs) }, worker));
  options.signal?.removeEventListener('abort', stop);
  return outcome;
}
