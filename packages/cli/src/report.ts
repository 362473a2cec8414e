/**
 * `hpf report <bench dir>`: per detector, baseline and HPF COCO metrics as mean +- sd over seeds,
 * the paired delta and wins, the summary line, a JSON file with every number, and two charts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '@hpf/data';
import { planRuns, readBenchConfig, readTimings, runStatus, type BenchConfig, type MachineInfo, type RunTiming } from './bench.js';
import { deltaChartSpec, gammaChartSpec, writeChart, type GammaPoint } from './charts.js';
import { pairedSummary, type PairedSummary } from './stats.js';
import { RESULT_FILE, type TrainResult } from './train.js';

export const METRICS = ['AP', 'AP50', 'AP75', 'APs', 'APm', 'APl'] as const;
export type Metric = (typeof METRICS)[number];

export interface DetectorReport {
  detector: string;
  seeds: number[];
  metrics: Record<Metric, PairedSummary | null>;
  /** Mean gamma per level over the last 10% of iterations, per arm (mean over seeds). */
  finalGamma: { baseline: number[]; hpf: number[] };
}

/** Where and how long: what a reader needs to rerun the bench and compare times. */
export interface BenchSetup {
  /** tfjs backends the finished runs trained on. */
  backends: string[];
  /** Machines recorded in timing.json (one per distinct machine). */
  machines: MachineInfo[];
  /** Sum over bench sessions of first start to last end (null: no timing.json). */
  wallSeconds: number | null;
  /** Runs per session at once (the --jobs), per session. */
  jobs: number[];
  /** Mean training seconds of one run (result.json trainSeconds), per detector, both arms. */
  trainSecondsPerRun: Record<string, number>;
}

export interface BenchReport {
  config: BenchConfig;
  setup: BenchSetup;
  detectors: DetectorReport[];
  missing: string[];
  summary: { detectorsImproved: number; detectorsCompared: number; meanApDelta: number | null };
  charts: Record<string, { svg: string; png: string }>;
}

export const LEVEL_NAMES = ['P3', 'P4', 'P5', 'P6', 'P7'];

function readResult(dir: string): TrainResult {
  return JSON.parse(readFileSync(join(dir, RESULT_FILE), 'utf8')) as TrainResult;
}

function tailGamma(result: TrainResult): number[] {
  const tail = result.history.slice(-Math.max(1, Math.ceil(result.history.length / 10)));
  const levels = tail[0]?.gammas.length ?? 0;
  return Array.from({ length: levels }, (_, l) => tail.reduce((s, r) => s + r.gammas[l]!, 0) / tail.length);
}

function meanVectors(vs: number[][]): number[] {
  if (vs.length === 0) return [];
  return vs[0]!.map((_, l) => vs.reduce((s, v) => s + v[l]!, 0) / vs.length);
}

export function sessionWallSeconds(timings: RunTiming[]): number | null {
  if (timings.length === 0) return null;
  const sessions = new Map<number, { start: number; end: number }>();
  for (const t of timings) {
    const span = sessions.get(t.session) ?? { start: Infinity, end: -Infinity };
    span.start = Math.min(span.start, Date.parse(t.start));
    span.end = Math.max(span.end, Date.parse(t.end));
    sessions.set(t.session, span);
  }
  return [...sessions.values()].reduce((s, x) => s + (x.end - x.start) / 1000, 0);
}

function benchSetup(benchDir: string, results: Map<string, { baseline: TrainResult; hpf: TrainResult }[]>): BenchSetup {
  const timings = readTimings(benchDir);
  const machines = new Map(timings.map((t) => [JSON.stringify(t.machine), t.machine]));
  const jobs = new Map(timings.map((t) => [t.session, t.jobs]));
  const all = [...results.values()].flat().flatMap((p) => [p.baseline, p.hpf]);
  const trainSecondsPerRun: Record<string, number> = {};
  for (const [detector, pairs] of results) {
    const secs = pairs.flatMap((p) => [p.baseline.trainSeconds, p.hpf.trainSeconds]);
    if (secs.length > 0) trainSecondsPerRun[detector] = secs.reduce((a, b) => a + b, 0) / secs.length;
  }
  return {
    backends: [...new Set(all.map((r) => r.backend))],
    machines: [...machines.values()],
    wallSeconds: sessionWallSeconds(timings),
    jobs: [...jobs.entries()].sort((a, b) => a[0] - b[0]).map(([, j]) => j),
    trainSecondsPerRun,
  };
}

/** The numbers of the report, from finished runs; a seed counts only when both arms finished. */
export function summarizeBench(benchDir: string): Omit<BenchReport, 'charts'> & { results: Map<string, { baseline: TrainResult; hpf: TrainResult }[]> } {
  const config = readBenchConfig(benchDir);
  const runs = planRuns(config, benchDir);
  const missing = runs.filter((r) => runStatus(r) !== 'done').map((r) => r.id);
  const results = new Map<string, { baseline: TrainResult; hpf: TrainResult }[]>();
  const detectors: DetectorReport[] = [];
  for (const detector of config.detectors) {
    const pairs: { seed: number; baseline: TrainResult; hpf: TrainResult }[] = [];
    for (const seed of config.seeds) {
      const arms = runs.filter((r) => r.detector === detector && r.seed === seed);
      if (arms.some((r) => runStatus(r) !== 'done')) continue;
      const baseline = readResult(arms.find((r) => !r.hpf)!.dir);
      const hpf = readResult(arms.find((r) => r.hpf)!.dir);
      pairs.push({ seed, baseline, hpf });
    }
    results.set(detector, pairs);
    const metrics = {} as Record<Metric, PairedSummary | null>;
    for (const m of METRICS) {
      // COCO reports -1 for an area range without ground truth: such a metric is not compared.
      const usable = pairs.filter((p) => (p.baseline.stats?.[m] ?? -1) >= 0 && (p.hpf.stats?.[m] ?? -1) >= 0);
      metrics[m] = usable.length === 0 ? null : pairedSummary(usable.map((p) => p.baseline.stats![m]), usable.map((p) => p.hpf.stats![m]));
    }
    detectors.push({
      detector,
      seeds: pairs.map((p) => p.seed),
      metrics,
      finalGamma: { baseline: meanVectors(pairs.map((p) => tailGamma(p.baseline))), hpf: meanVectors(pairs.map((p) => tailGamma(p.hpf))) },
    });
  }
  const compared = detectors.filter((d) => d.metrics.AP !== null);
  const improved = compared.filter((d) => d.metrics.AP!.delta.mean > 0).length;
  const meanApDelta = compared.length === 0 ? null : compared.reduce((s, d) => s + d.metrics.AP!.delta.mean, 0) / compared.length;
  return { config, setup: benchSetup(benchDir, results), detectors, missing, summary: { detectorsImproved: improved, detectorsCompared: compared.length, meanApDelta }, results };
}

const pct = (x: number): string => (100 * x).toFixed(2);
const pm = (m: number, sd: number | null): string => (sd === null ? pct(m) : `${pct(m)} ± ${pct(sd)}`);
const signed = (x: number): string => `${x >= 0 ? '+' : ''}${pct(x)}`;

const minutes = (secs: number): string => `${(secs / 60).toFixed(1)} min`;

function formatSetup(setup: BenchSetup, config: BenchConfig): string[] {
  const lines = ['## Setup', ''];
  lines.push(`- Backend: ${setup.backends.length === 0 ? 'n/a (no finished run)' : setup.backends.join(', ')}.`);
  for (const m of setup.machines) lines.push(`- Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}.`);
  if (config.extraArgs.length > 0) lines.push(`- Arguments of every run: \`${config.extraArgs.join(' ')}\`.`);
  lines.push(
    setup.wallSeconds === null
      ? '- Wall time: not recorded (no timing.json).'
      : `- Wall time: ${minutes(setup.wallSeconds)}, ${setup.jobs.length === 1 ? `${setup.jobs[0]} runs at a time` : `${setup.jobs.length} sessions (runs at a time: ${setup.jobs.join(', ')})`}.`,
  );
  const per = Object.entries(setup.trainSecondsPerRun);
  if (per.length > 0) lines.push(`- Training seconds per run (mean of both arms): ${per.map(([d, s]) => `${d} ${s.toFixed(0)}`).join(', ')}.`);
  lines.push('');
  return lines;
}

export function formatMarkdown(report: Omit<BenchReport, 'charts'>, charts: Record<string, { svg: string; png: string }> = {}, relativeTo?: string): string {
  const { config } = report;
  const lines: string[] = [
    '# Stable-gain report: baseline vs HPF',
    '',
    `Preset ${config.preset} (${config.data}), ${config.steps} iterations x batch ${config.batchSize}, lr ${config.lr}, backbone ${config.backbone}, ` +
      `HPF delta ${config.hpfDelta}; seeds ${config.seeds.join(', ')}. COCO metrics on the validation split in percent, mean ± sample sd over seeds; ` +
      'delta = HPF − baseline paired by seed (same data order, initial weights and schedule); wins = seeds where HPF is higher.',
    '',
    ...formatSetup(report.setup, config),
  ];
  for (const m of METRICS) {
    lines.push(`## ${m}`, '', '| detector | seeds | baseline | HPF | delta | wins |', '| --- | ---: | ---: | ---: | ---: | ---: |');
    for (const d of report.detectors) {
      const s = d.metrics[m];
      if (s === null) lines.push(`| ${d.detector} | 0 | n/a | n/a | n/a | n/a |`);
      else lines.push(`| ${d.detector} | ${s.n} | ${pm(s.baseline.mean, s.baseline.sd)} | ${pm(s.hpf.mean, s.hpf.sd)} | ${signed(s.delta.mean)}${s.delta.sd === null ? '' : ` ± ${pct(s.delta.sd)}`} | ${s.wins}/${s.n} |`);
    }
    lines.push('');
  }
  lines.push('## Focusing exponent per level at the end of training (mean of the last 10% of iterations)', '', '| detector | arm | ' + LEVEL_NAMES.join(' | ') + ' |', '| --- | --- |' + LEVEL_NAMES.map(() => ' ---: |').join(''));
  for (const d of report.detectors) {
    for (const arm of ['baseline', 'hpf'] as const) {
      if (d.finalGamma[arm].length > 0) lines.push(`| ${d.detector} | ${arm} | ${d.finalGamma[arm].map((g) => g.toFixed(2)).join(' | ')} |`);
    }
  }
  const { summary } = report;
  lines.push(
    '',
    '## Summary',
    '',
    summary.meanApDelta === null
      ? 'No detector has both arms finished for any seed.'
      : `HPF improved AP for ${summary.detectorsImproved} of ${summary.detectorsCompared} detectors; mean AP delta ${signed(summary.meanApDelta)} points.`,
  );
  if (report.missing.length > 0) lines.push('', `Runs not finished (left out): ${report.missing.join(', ')}.`);
  const names = Object.entries(charts);
  if (names.length > 0) {
    lines.push('', '## Charts', '');
    for (const [name, files] of names) {
      const rel = (p: string): string => (relativeTo === undefined ? p : p.startsWith(relativeTo) ? p.slice(relativeTo.length).replace(/^\//, '') : p);
      lines.push(`![${name}](${rel(files.png)}) ([SVG](${rel(files.svg)}))`);
    }
  }
  return lines.join('\n') + '\n';
}

/** Per-level gamma points of one run, averaged over windows so the chart stays readable. */
export function gammaPoints(result: TrainResult, window = Math.max(1, Math.round(result.history.length / 100))): GammaPoint[] {
  const points: GammaPoint[] = [];
  for (let start = 0; start < result.history.length; start += window) {
    const chunk = result.history.slice(start, start + window);
    const levels = chunk[0]!.gammas.length;
    for (let l = 0; l < levels; l++) {
      points.push({ iteration: chunk[chunk.length - 1]!.iteration + 1, level: LEVEL_NAMES[l] ?? `L${l}`, gamma: chunk.reduce((s, r) => s + r.gammas[l]!, 0) / chunk.length });
    }
  }
  return points;
}

export interface WriteReportOptions {
  /** Detector whose gamma trajectories are charted (default: the first with a finished HPF run). */
  gammaDetector?: string;
  outDir?: string;
}

export async function writeReport(benchDir: string, options: WriteReportOptions = {}): Promise<{ markdown: string; files: string[]; report: BenchReport }> {
  const root = resolve(benchDir);
  const outDir = resolve(options.outDir ?? root);
  const { results, ...numbers } = summarizeBench(root);
  const charts: Record<string, { svg: string; png: string }> = {};
  const deltaPoints = numbers.detectors.flatMap((d) =>
    (results.get(d.detector) ?? []).filter((p) => p.baseline.stats !== null && p.hpf.stats !== null).map((p) => ({ detector: d.detector, seed: p.hpf.seed, delta: p.hpf.stats!.AP - p.baseline.stats!.AP })),
  );
  if (deltaPoints.length > 0) charts['AP delta per detector'] = await writeChart(join(outDir, 'ap-delta'), deltaChartSpec(deltaPoints));
  const gammaDetector = options.gammaDetector ?? numbers.detectors.find((d) => (results.get(d.detector) ?? []).length > 0)?.detector;
  if (gammaDetector !== undefined) {
    if (!numbers.config.detectors.includes(gammaDetector)) throw new Error(`--gamma-detector: '${gammaDetector}' is not in this bench (${numbers.config.detectors.join(', ')})`);
    const pair = results.get(gammaDetector)?.[0];
    if (pair !== undefined) {
      const points = gammaPoints(pair.hpf);
      charts[`gamma per level, ${gammaDetector}`] = await writeChart(
        join(outDir, `gamma-${gammaDetector}`),
        gammaChartSpec(points, `${gammaDetector} + HPF, seed ${pair.hpf.seed}: gamma per level over training (gamma0 on a level without positives)`),
      );
    }
  }
  const report: BenchReport = { ...numbers, charts };
  const markdown = formatMarkdown(numbers, charts, outDir);
  writeFileAtomic(join(outDir, 'report.md'), markdown);
  writeFileAtomic(join(outDir, 'report.json'), JSON.stringify(report, null, 1));
  const files = [join(outDir, 'report.md'), join(outDir, 'report.json'), ...Object.values(charts).flatMap((c) => [c.svg, c.png])];
  return { markdown, files, report };
}

export function benchExists(dir: string): boolean {
  return existsSync(join(resolve(dir), 'bench.json'));
}
