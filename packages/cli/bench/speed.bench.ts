/**
 * Training and inference speed of every adapter on the quick preset's network (the one the
 * stable-gain sweep trains: `BENCH_PRESETS.quick` and the registry's small-input overrides), on
 * the active backend (HPF_BACKEND, default order: tfjs-node-gpu > tfjs-node > wasm > cpu).
 *
 *   npm run bench:speed -- [--detectors all] [--runs 7] [--warmup 2] [--batch-size 8] [--threads n]
 *                          [--out runs/bench/speed.json] [--torch torch.json] [--from speed.json]
 *
 * --threads: the wasm backend's threads (default HPF_WASM_THREADS, else all cores up to 8). Compare
 * with torch_reference.py run at the same `--threads`: --torch only pairs rows of equal threads.
 *
 * Training: one timed run = one iteration as `hpf train` runs it (forward, loss with assignment,
 * backward, gradient clipping, SGD with momentum and weight decay) on a digits-det quick batch.
 * The hpf-off and hpf-on detectors (same seed, so the same initial weights) alternate run by run,
 * in swapped order every other run, over the same batches, so machine load hits both alike; the
 * HPF ratio is the median of the per-pair ratios. Inference: `detector.predict` (eval-mode forward,
 * decode, top-k, class-aware NMS) on the same batches, once with the adapter's test settings
 * (score threshold 0.05: an untrained head scores ~0.01, so almost nothing reaches NMS) and once
 * with score threshold 0 (every level's top 1000 reach NMS: the worst case).
 * Wall time and process CPU time (all threads) are both recorded: with one thread, CPU time is what
 * a step costs even when other processes share the cores; with more, wall time is the measure.
 *
 * --torch <file> adds ours/PyTorch ratios from packages/cli/bench/torch_reference.py's JSON;
 * --from <file> skips measuring and compares an earlier speed.json instead.
 */
import { register } from 'node:module';
import { cpus, loadavg } from 'node:os';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';

register('../../../tools/tfjs-core-resolve-hook.mjs', import.meta.url);

const { values } = parseArgs({
  options: {
    detectors: { type: 'string', default: 'all' },
    runs: { type: 'string', default: '7' },
    warmup: { type: 'string', default: '2' },
    'batch-size': { type: 'string', default: '8' },
    out: { type: 'string', default: 'runs/bench/speed.json' },
    torch: { type: 'string' },
    from: { type: 'string' },
    'data-cache': { type: 'string', default: 'runs/data' },
    threads: { type: 'string' },
  },
  strict: true,
});

function intOption(name: string, value: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got '${value}'`);
  return n;
}

interface Timings {
  wallMs: number[];
  cpuMs: number[];
  medianWallMs: number;
  medianCpuMs: number;
  /** batch / median wall seconds. */
  imagesPerSecond: number;
  /** batch / median CPU seconds. */
  imagesPerSecondCpu: number;
}

interface DetectorSpeed {
  detector: string;
  /** Trainable parameters (to check that torch_reference.py builds the same network). */
  parameters: number;
  train: { off: Timings; on: Timings; hpfRatioWall: number; hpfRatioCpu: number };
  infer: { published: Timings; dense: Timings; detections: { published: number; dense: number } };
  numTensors: { start: number; afterWarmup: number; afterRuns: number; end: number };
}

interface SpeedReport {
  format: 1;
  date: string;
  backend: string;
  backendDescription: string;
  /** The engine kernels active on wasm (added / replaced), from initBackend. */
  wasmKernels?: unknown;
  /** wasm threads (1 on other backends); absent in reports from before threads existed (= 1). */
  threads?: number;
  /** HEAD and the package sources that differ from it: the numbers describe this tree. */
  git?: { head: string; dirtySources: string[] };
  node: string;
  cpu: string;
  cores: number;
  loadavgStart: number[];
  loadavgEnd: number[];
  batchSize: number;
  inputSize: number;
  runs: number;
  warmup: number;
  network: Record<string, unknown>;
  detectors: DetectorSpeed[];
}

/** packages/cli/bench/torch_reference.py's output (the parts used here). */
interface TorchReport {
  torch: string;
  batch_size: number;
  image_size: number;
  results: Array<{
    detector: string;
    threads: number;
    train: { median_wall_ms: number; median_cpu_ms: number };
    infer: { median_wall_ms: number; median_cpu_ms: number };
    infer_dense: { median_wall_ms: number; median_cpu_ms: number };
  }>;
}

const median = (xs: readonly number[]): number => {
  if (xs.length === 0) throw new Error('median of no values');
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function summarise(wallMs: number[], cpuMs: number[], batch: number): Timings {
  const medianWallMs = median(wallMs);
  const medianCpuMs = median(cpuMs);
  return { wallMs, cpuMs, medianWallMs, medianCpuMs, imagesPerSecond: (batch * 1000) / medianWallMs, imagesPerSecondCpu: (batch * 1000) / medianCpuMs };
}

/** Wall and process CPU milliseconds of `fn`. */
async function timed(fn: () => unknown): Promise<{ wall: number; cpu: number }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(cpu0);
  return { wall, cpu: (c.user + c.system) / 1000 };
}

function gitState(): NonNullable<SpeedReport['git']> {
  const run = (args: string[]): string => {
    try {
      return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return '';
    }
  };
  const dirty = run(['status', '--porcelain', '--', 'packages/*/src']);
  return { head: run(['rev-parse', 'HEAD']) || 'unknown', dirtySources: dirty === '' ? [] : dirty.split('\n').map((l) => l.slice(3)) };
}

async function measure(): Promise<SpeedReport> {
  const runs = intOption('runs', values.runs, 5);
  const warmup = intOption('warmup', values.warmup, 1);
  const batchSize = intOption('batch-size', values['batch-size'], 1);
  // tfjs-core's package entry first: @hpf/engine's sources import tfjs-core's ESM gradient files,
  // and the tensor engine must be the one whose Tensor class has the chained ops installed.
  const tf = await import('@tensorflow/tfjs-core');
  const { initBackend, formatBackendChoice } = await import('@hpf/engine/node');
  const { parseDetectorList } = await import('../src/registry.js');
  const { buildDetector, detectorOptionsFor } = await import('../src/train.js');
  const { createQuickTrainer, loadQuickData, quickTrainOptions, QUICK } = await import('./support/quick.js');

  const names = parseDetectorList(values.detectors);
  const threads = values.threads === undefined ? undefined : intOption('threads', values.threads, 1);
  const choice = await initBackend(threads === undefined ? {} : { threads });
  const backendDescription = formatBackendChoice(choice);
  console.error(backendDescription);
  const loadavgStart = loadavg();
  const data = loadQuickData(batchSize, values['data-cache']);
  // A fixed set of batches, cycled in the same order for every arm and detector.
  const plans = data.loader.plan(0).slice(0, Math.min(4, data.loader.batchesPerEpoch));
  const report: SpeedReport = {
    format: 1,
    date: new Date().toISOString(),
    backend: tf.getBackend(),
    backendDescription,
    wasmKernels: choice.wasm?.kernels ?? null,
    threads: choice.wasm?.threads ?? 1,
    git: gitState(),
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    loadavgStart,
    loadavgEnd: [],
    batchSize,
    inputSize: data.inputSize,
    runs,
    warmup,
    network: { backbone: QUICK.backbone, trainArgs: QUICK.trainArgs, data: QUICK.data, smallInput: 'auto (input <= 256 px)' },
    detectors: [],
  };

  for (const name of names) {
    const start = tf.memory().numTensors;
    const batches = plans.map((p) => data.loader.load(p));
    const off = await createQuickTrainer(name, false, data, batchSize);
    const on = await createQuickTrainer(name, true, data, batchSize);
    const arms = [off, on];
    const parameters = off.detector.trainableVariables().reduce((n, v) => n + v.size, 0);
    let iteration = 0;
    for (let w = 0; w < warmup; w++) {
      for (const arm of arms) arm.step(batches[w % batches.length]!, iteration);
      iteration++;
    }
    const afterWarmup = tf.memory().numTensors;
    const wall: [number[], number[]] = [[], []];
    const cpu: [number[], number[]] = [[], []];
    for (let r = 0; r < runs; r++) {
      const batch = batches[(warmup + r) % batches.length]!;
      const order = r % 2 === 0 ? [0, 1] : [1, 0];
      for (const a of order) {
        const t = await timed(() => arms[a]!.step(batch, iteration));
        wall[a]!.push(t.wall);
        cpu[a]!.push(t.cpu);
      }
      iteration++;
    }
    const afterRuns = tf.memory().numTensors;
    off.dispose();
    on.dispose();
    const pairRatio = (xs: [number[], number[]]): number => median(xs[1].map((v, i) => v / xs[0][i]!));

    // Inference: fresh detectors with the seed's initial weights, one per score threshold.
    const inferOptions = (scoreThreshold: number | undefined) => {
      const options = quickTrainOptions(name, false, batchSize);
      const base = detectorOptionsFor(options, data.numClasses, data.inputSize, data.epochs);
      return scoreThreshold === undefined ? base : { ...base, test: { scoreThreshold } };
    };
    const published = await buildDetector(name, inferOptions(undefined));
    const dense = await buildDetector(name, inferOptions(0));
    const inferArms = [published, dense];
    const detections = [0, 0];
    for (let w = 0; w < warmup; w++) for (const d of inferArms) await d.predict(batches[w % batches.length]!.images, batches[w % batches.length]!.meta);
    const iwall: [number[], number[]] = [[], []];
    const icpu: [number[], number[]] = [[], []];
    for (let r = 0; r < runs; r++) {
      const batch = batches[(warmup + r) % batches.length]!;
      const order = r % 2 === 0 ? [0, 1] : [1, 0];
      for (const a of order) {
        let found = 0;
        const t = await timed(async () => {
          const dets = await inferArms[a]!.predict(batch.images, batch.meta);
          found = dets.reduce((n, d) => n + d.length, 0);
        });
        iwall[a]!.push(t.wall);
        icpu[a]!.push(t.cpu);
        detections[a]! += found;
      }
    }
    published.dispose();
    dense.dispose();
    tf.dispose(batches.map((b) => b.images));
    const end = tf.memory().numTensors;

    const result: DetectorSpeed = {
      detector: name,
      parameters,
      train: {
        off: summarise(wall[0], cpu[0], batchSize),
        on: summarise(wall[1], cpu[1], batchSize),
        hpfRatioWall: pairRatio(wall),
        hpfRatioCpu: pairRatio(cpu),
      },
      infer: {
        published: summarise(iwall[0], icpu[0], batchSize),
        dense: summarise(iwall[1], icpu[1], batchSize),
        detections: { published: detections[0]! / (runs * batchSize), dense: detections[1]! / (runs * batchSize) },
      },
      numTensors: { start, afterWarmup, afterRuns, end },
    };
    report.detectors.push(result);
    report.loadavgEnd = loadavg();
    // After every detector, so a long run interrupted on a loaded machine keeps what it measured.
    writeReport(report);
    console.error(
      `${name}: train off ${f0(result.train.off.medianWallMs)} ms (cpu ${f0(result.train.off.medianCpuMs)}), on ${f0(result.train.on.medianWallMs)} ms (cpu ${f0(result.train.on.medianCpuMs)}), HPF ratio wall ${result.train.hpfRatioWall.toFixed(3)} cpu ${result.train.hpfRatioCpu.toFixed(3)}; infer ${f0(result.infer.published.medianWallMs)} ms (cpu ${f0(result.infer.published.medianCpuMs)}), thr 0 ${f0(result.infer.dense.medianWallMs)} ms (cpu ${f0(result.infer.dense.medianCpuMs)}); tensors ${start} ${afterWarmup} ${afterRuns} ${end}`,
    );
  }
  return report;
}

const f1 = (x: number): string => x.toFixed(1);
const f0 = (x: number): string => x.toFixed(0);

function speedTable(report: SpeedReport): string {
  const lines = [
    // Reports written before these fields existed have neither.
    `Sources: ${report.git === undefined ? 'not recorded' : `${report.git.head.slice(0, 7)}${report.git.dirtySources.length > 0 ? ` + uncommitted changes in ${report.git.dirtySources.join(', ')}` : ''}`}; wasm engine kernels ${JSON.stringify(report.wasmKernels ?? 'not recorded')}.`,
    `Backend: ${report.backendDescription}; ${report.cpu} x ${report.cores}; Node ${report.node}; batch ${report.batchSize} x ${report.inputSize} px; median of ${report.runs} runs after ${report.warmup} warm-up; load average ${report.loadavgStart.map(f1).join(' ')} at start, ${report.loadavgEnd.map(f1).join(' ')} at end.`,
    '',
    '| detector | train img/s off | train img/s on | step ms off (cpu) | step ms on (cpu) | HPF on/off wall | HPF on/off cpu | infer img/s | infer img/s, thr 0 | infer ms (cpu) | infer ms thr 0 (cpu) | numTensors start/warm/runs/end |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const d of report.detectors) {
    const { off, on } = d.train;
    const { published: p, dense: q } = d.infer;
    const n = d.numTensors;
    lines.push(
      `| ${d.detector} | ${f1(off.imagesPerSecond)} | ${f1(on.imagesPerSecond)} | ${f0(off.medianWallMs)} (${f0(off.medianCpuMs)}) | ${f0(on.medianWallMs)} (${f0(on.medianCpuMs)}) | ${d.train.hpfRatioWall.toFixed(3)} | ${d.train.hpfRatioCpu.toFixed(3)} | ${f1(p.imagesPerSecond)} | ${f1(q.imagesPerSecond)} | ${f0(p.medianWallMs)} (${f0(p.medianCpuMs)}) | ${f0(q.medianWallMs)} (${f0(q.medianCpuMs)}) | ${n.start}/${n.afterWarmup}/${n.afterRuns}/${n.end} |`,
    );
  }
  return lines.join('\n');
}

function readJson<T>(file: string, what: string): T {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch (error) {
    throw new Error(`${what} ${file}: ${(error as Error).message}`, { cause: error });
  }
}

/** ours / PyTorch per shared detector and thread count (time ratios: < 1 means we are faster). */
function compareTable(report: SpeedReport, torch: TorchReport, torchFile: string): string {
  if (!Array.isArray(torch.results)) throw new Error(`--torch ${torchFile}: no 'results' array (expected torch_reference.py output)`);
  if (torch.batch_size !== report.batchSize || torch.image_size !== report.inputSize) {
    throw new Error(`--torch ${torchFile}: batch ${torch.batch_size} x ${torch.image_size} px, ours ${report.batchSize} x ${report.inputSize} px: not comparable`);
  }
  const threads = report.threads ?? 1;
  const rows = torch.results.filter((t) => t.threads === threads);
  if (rows.length === 0) {
    throw new Error(`--torch ${torchFile}: no PyTorch results at ${threads} thread(s) (it has ${[...new Set(torch.results.map((t) => t.threads))].join(', ')}); run torch_reference.py --threads ${threads}`);
  }
  const lines = [
    `Ours (${report.backend}, ${threads} thread${threads === 1 ? '' : 's'}) / PyTorch ${torch.torch} at equal threads: time ratios (ours ms / torch ms; targets: train <= 1.5 at equal threads, inference time <= 1.25, i.e. images/s >= 0.8x). Wall and process-CPU medians.`,
    '',
    '| detector | torch threads | torch train ms (cpu) | ours train ms (cpu), hpf off | train ratio wall | train ratio cpu | torch infer ms (cpu) | ours infer ms (cpu) | infer img/s ours/torch wall | infer img/s ours/torch cpu | thr 0: torch ms | thr 0: ours/torch img/s wall | thr 0: cpu |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const t of rows) {
    const ours = report.detectors.find((d) => d.detector === t.detector);
    if (ours === undefined) continue;
    const tr = ours.train.off;
    const inf = ours.infer.published;
    const dn = ours.infer.dense;
    lines.push(
      `| ${t.detector} | ${t.threads} | ${f0(t.train.median_wall_ms)} (${f0(t.train.median_cpu_ms)}) | ${f0(tr.medianWallMs)} (${f0(tr.medianCpuMs)}) | ${(tr.medianWallMs / t.train.median_wall_ms).toFixed(2)} | ${(tr.medianCpuMs / t.train.median_cpu_ms).toFixed(2)} | ${f0(t.infer.median_wall_ms)} (${f0(t.infer.median_cpu_ms)}) | ${f0(inf.medianWallMs)} (${f0(inf.medianCpuMs)}) | ${(t.infer.median_wall_ms / inf.medianWallMs).toFixed(2)} | ${(t.infer.median_cpu_ms / inf.medianCpuMs).toFixed(2)} | ${f0(t.infer_dense.median_wall_ms)} | ${(t.infer_dense.median_wall_ms / dn.medianWallMs).toFixed(2)} | ${(t.infer_dense.median_cpu_ms / dn.medianCpuMs).toFixed(2)} |`,
    );
  }
  return lines.join('\n');
}

function writeReport(report: SpeedReport): void {
  const out = resolve(values.out);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(report, null, 1)}\n`);
}

const report = values.from !== undefined ? readJson<SpeedReport>(values.from, '--from') : await measure();
if (values.from === undefined) console.error(`wrote ${resolve(values.out)}`);
console.log(speedTable(report));
if (values.torch !== undefined) {
  console.log('');
  console.log(compareTable(report, readJson<TorchReport>(values.torch, '--torch'), values.torch));
}
