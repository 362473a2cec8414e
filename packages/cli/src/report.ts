/**
 * `hpf report <bench dir> [more shard dirs]`: per detector, baseline and HPF COCO metrics as
 * mean +- sd over seeds, the paired delta with its 95% t-interval and wins, a verdict per detector
 * and for the claim, a JSON file with every number, and charts (AP delta; per detector: gamma per
 * level over training, and loss terms and validation AP over iterations for both arms).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { writeFileAtomic } from '@hpf/data';
import { planRuns, readBenchConfig, readTimings, runId, runStatus, type BenchConfig, type BenchRun, type MachineInfo, type RunTiming } from './bench.js';
import { curvesChartSpec, deltaChartSpec, gammaChartSpec, writeChart, type CurvePoint, type GammaPoint } from './charts.js';
import { pairedSummary, type PairedSummary } from './stats.js';
import { RESULT_FILE, type TrainResult } from './train.js';

export const METRICS = ['AP', 'AP50', 'AP75', 'APs', 'APm', 'APl'] as const;
export type Metric = (typeof METRICS)[number];

/**
 * What the AP deltas of one detector show: `gain` / `loss` when the 95% t-interval of the paired
 * delta lies above / below zero, `unresolved` when it contains zero, `one seed` without an interval.
 */
export type Verdict = 'gain' | 'loss' | 'unresolved' | 'one seed' | 'no data';

/** Precondition of the protocol: a baseline below this AP has not learned enough to judge a loss by. */
export const MIN_BASELINE_AP = 0.15;

export interface DetectorReport {
  detector: string;
  seeds: number[];
  metrics: Record<Metric, PairedSummary | null>;
  verdict: Verdict;
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
  /** The code that trained the compared runs (from timing.json), with how many runs each. */
  code: Array<{ code: string; runs: number }>;
}

export interface BenchReport {
  config: BenchConfig;
  setup: BenchSetup;
  detectors: DetectorReport[];
  missing: string[];
  /** Bench folders the report merged (shards of one bench, or one folder). */
  folders: string[];
  summary: {
    detectorsImproved: number;
    detectorsCompared: number;
    meanApDelta: number | null;
    /** Paired (detector, seed) runs where HPF's AP is higher, out of all compared pairs. */
    pairsWon: number;
    pairsCompared: number;
    verdicts: Record<Verdict, string[]>;
    /** Detectors whose mean baseline AP is below MIN_BASELINE_AP. */
    weakBaselines: string[];
    /** The claim "HPF gives a stable gain on every detector", as these runs show it. */
    claim: 'holds' | 'does not hold' | 'not resolved';
  };
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

function benchSetup(benchDirs: readonly string[], results: Pairs): BenchSetup {
  // Sessions are numbered per folder: shards on other machines are sessions of their own.
  const timings = benchDirs.flatMap((dir, k) => readTimings(dir).map((t) => ({ ...t, session: t.session + 1e6 * k })));
  const machines = new Map(timings.map((t) => [JSON.stringify(t.machine), t.machine]));
  const jobs = new Map(timings.map((t) => [t.session, t.jobs]));
  const all = [...results.values()].flat().flatMap((p) => [p.baseline, p.hpf]);
  const trainSecondsPerRun: Record<string, number> = {};
  for (const [detector, pairs] of results) {
    const secs = pairs.flatMap((p) => [p.baseline.trainSeconds, p.hpf.trainSeconds]);
    if (secs.length > 0) trainSecondsPerRun[detector] = secs.reduce((a, b) => a + b, 0) / secs.length;
  }
  // A run's last successful timing entry names the code that finished it.
  const finishedBy = new Map(timings.filter((t) => t.exit === 0).map((t) => [t.id, t.code === undefined ? 'not recorded' : `@hpf/cli ${t.code.version}${t.code.commit === null ? '' : ` at commit ${t.code.commit}`}`]));
  const compared = [...results.entries()].flatMap(([detector, pairs]) => pairs.flatMap((p) => [runId(detector, p.baseline.seed, false), runId(detector, p.hpf.seed, true)]));
  const code = new Map<string, number>();
  for (const id of compared) {
    const label = finishedBy.get(id) ?? 'not recorded';
    code.set(label, (code.get(label) ?? 0) + 1);
  }
  return {
    code: [...code.entries()].map(([label, runs]) => ({ code: label, runs })),
    backends: [...new Set(all.map((r) => r.backend))],
    machines: [...machines.values()],
    wallSeconds: sessionWallSeconds(timings),
    jobs: [...jobs.entries()].sort((a, b) => a[0] - b[0]).map(([, j]) => j),
    trainSecondsPerRun,
  };
}

function verdictOf(ap: PairedSummary | null): Verdict {
  if (ap === null) return 'no data';
  if (ap.delta.ci95 === null) return 'one seed';
  if (ap.delta.ci95[0] > 0) return 'gain';
  if (ap.delta.ci95[1] < 0) return 'loss';
  return 'unresolved';
}

/**
 * The bench folders as one: the first folder's plan, each run taken from the folder where it is
 * done (else where it has a checkpoint). Shards of one bench must have been started alike.
 */
function mergedRuns(benchDirs: readonly string[]): { config: BenchConfig; runs: BenchRun[] } {
  if (benchDirs.length === 0) throw new Error('hpf report: no bench folder given');
  const config = readBenchConfig(benchDirs[0]!);
  for (const dir of benchDirs.slice(1)) {
    const other = readBenchConfig(dir);
    for (const key of Object.keys(config) as (keyof BenchConfig)[]) {
      if (JSON.stringify(other[key]) !== JSON.stringify(config[key])) {
        throw new Error(`${dir}: not a shard of the same bench as ${benchDirs[0]} (${key} = ${JSON.stringify(other[key])} there, ${JSON.stringify(config[key])} here)`);
      }
    }
  }
  const candidates = benchDirs.map((d) => planRuns(config, d));
  const runs = candidates[0]!.map((first, k) => {
    const all = candidates.map((c) => c[k]!);
    return all.find((r) => runStatus(r) === 'done') ?? all.find((r) => runStatus(r) === 'partial') ?? first;
  });
  return { config, runs };
}

type Pairs = Map<string, { baseline: TrainResult; hpf: TrainResult }[]>;

/** The numbers of the report, from finished runs; a seed counts only when both arms finished. */
export function summarizeBench(benchDirs: string | readonly string[]): Omit<BenchReport, 'charts'> & { results: Pairs } {
  const folders = (typeof benchDirs === 'string' ? [benchDirs] : [...benchDirs]).map((d) => resolve(d));
  const { config, runs } = mergedRuns(folders);
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
      verdict: verdictOf(metrics.AP),
      finalGamma: { baseline: meanVectors(pairs.map((p) => tailGamma(p.baseline))), hpf: meanVectors(pairs.map((p) => tailGamma(p.hpf))) },
    });
  }
  const compared = detectors.filter((d) => d.metrics.AP !== null);
  const improved = compared.filter((d) => d.metrics.AP!.delta.mean > 0).length;
  const meanApDelta = compared.length === 0 ? null : compared.reduce((s, d) => s + d.metrics.AP!.delta.mean, 0) / compared.length;
  const pairsWon = compared.reduce((s, d) => s + d.metrics.AP!.wins, 0);
  const pairsCompared = compared.reduce((s, d) => s + d.metrics.AP!.n, 0);
  const verdicts: Record<Verdict, string[]> = { gain: [], loss: [], unresolved: [], 'one seed': [], 'no data': [] };
  for (const d of detectors) verdicts[d.verdict].push(d.detector);
  const weakBaselines = compared.filter((d) => d.metrics.AP!.baseline.mean < MIN_BASELINE_AP).map((d) => d.detector);
  // Stable = a gain on every detector of the bench, each with an interval above zero.
  const claim: BenchReport['summary']['claim'] =
    verdicts.gain.length === detectors.length && detectors.length > 0
      ? 'holds'
      : verdicts.loss.length > 0 || (verdicts.unresolved.length > 0 && missing.length === 0)
        ? 'does not hold'
        : 'not resolved';
  return {
    config,
    setup: benchSetup(folders, results),
    detectors,
    missing,
    folders,
    summary: { detectorsImproved: improved, detectorsCompared: compared.length, meanApDelta, pairsWon, pairsCompared, verdicts, weakBaselines, claim },
    results,
  };
}

const pct = (x: number): string => (100 * x).toFixed(2);
const pm = (m: number, sd: number | null): string => (sd === null ? pct(m) : `${pct(m)} ± ${pct(sd)}`);
const signed = (x: number): string => `${x >= 0 ? '+' : ''}${pct(x)}`;
const interval = (ci: [number, number] | null): string => (ci === null ? 'n/a' : `[${signed(ci[0])}, ${signed(ci[1])}]`);

const minutes = (secs: number): string => `${(secs / 60).toFixed(1)} min`;

function formatSetup(setup: BenchSetup, config: BenchConfig): string[] {
  const lines = ['## Setup', ''];
  lines.push(`- Backend: ${setup.backends.length === 0 ? 'n/a (no finished run)' : setup.backends.join(', ')}.`);
  for (const m of setup.machines) lines.push(`- Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}.`);
  if (setup.code.length > 0) lines.push(`- Code: ${setup.code.map((c) => `${c.code} (${c.runs} runs)`).join('; ')}.`);
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
    `Preset ${config.preset} (${config.data}), ${config.steps} iterations${config.stepsByDetector === undefined ? '' : ` (${Object.entries(config.stepsByDetector).map(([d, n]) => `${d} ${n}`).join(', ')})`} x batch ${config.batchSize}, lr ${config.lr}${config.lrByDetector === undefined ? '' : ` (${Object.entries(config.lrByDetector).map(([d, lr]) => `${d} ${lr}`).join(', ')})`}, backbone ${config.backbone}, ` +
      `HPF delta ${config.hpfDelta}; seeds ${config.seeds.join(', ')}. COCO metrics on the validation split in percent, mean ± sample sd over seeds; ` +
      'delta = HPF − baseline paired by seed (same data order, initial weights and schedule), mean ± sd and its 95% t-interval over seeds; wins = seeds where HPF is higher.',
    '',
    ...formatSetup(report.setup, config),
  ];
  for (const m of METRICS) {
    lines.push(`## ${m}`, '', '| detector | seeds | baseline | HPF | delta | 95% CI | wins |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const d of report.detectors) {
      const s = d.metrics[m];
      if (s === null) lines.push(`| ${d.detector} | 0 | n/a | n/a | n/a | n/a | n/a |`);
      else lines.push(`| ${d.detector} | ${s.n} | ${pm(s.baseline.mean, s.baseline.sd)} | ${pm(s.hpf.mean, s.hpf.sd)} | ${signed(s.delta.mean)}${s.delta.sd === null ? '' : ` ± ${pct(s.delta.sd)}`} | ${interval(s.delta.ci95)} | ${s.wins}/${s.n} |`);
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
      : `HPF improved AP for ${summary.detectorsImproved} of ${summary.detectorsCompared} detectors; mean AP delta ${signed(summary.meanApDelta)} points. ` +
          `HPF is higher in ${summary.pairsWon} of ${summary.pairsCompared} paired runs (detector x seed).`,
  );
  if (summary.meanApDelta !== null) {
    const v = summary.verdicts;
    const list = (names: string[]): string => (names.length === 0 ? 'none' : names.join(', '));
    lines.push(
      '',
      `AP delta per detector by its 95% t-interval over seeds: gain (above zero): ${list(v.gain)}; loss (below zero): ${list(v.loss)}; ` +
        `not resolved (contains zero): ${list(v.unresolved)}${v['one seed'].length > 0 ? `; one seed only (no interval): ${list(v['one seed'])}` : ''}.`,
      '',
      summary.weakBaselines.length === 0
        ? `Every compared baseline reached AP >= ${pct(MIN_BASELINE_AP)}.`
        : `Baselines below AP ${pct(MIN_BASELINE_AP)} (too weak to judge a loss by): ${summary.weakBaselines.join(', ')}.`,
      '',
      claimSentence(report, v, list),
    );
  }
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

/**
 * The claim in words. A stable gain needs an interval above zero on every detector; when it fails,
 * say whether HPF is shown to hurt somewhere (interval below zero) or only not shown to help.
 */
function claimSentence(report: Omit<BenchReport, 'charts'>, v: Record<Verdict, string[]>, list: (names: string[]) => string): string {
  const n = report.detectors.length;
  if (report.summary.claim === 'holds') return `**The claim holds here: HPF gives an AP gain whose 95% interval lies above zero on all ${n} detectors.**`;
  if (report.summary.claim === 'does not hold') {
    const parts = [`**The claim does not hold here: a stable gain needs an interval above zero on every detector; ${v.gain.length} of ${n} have one${v.gain.length > 0 ? ` (${list(v.gain)})` : ''}.**`];
    if (v.loss.length > 0) parts.push(`HPF lowers AP with an interval below zero on ${list(v.loss)}.`);
    if (v.unresolved.length > 0) parts.push(`On ${list(v.unresolved)} the interval contains zero: these seeds show neither a gain nor a loss.`);
    return parts.join(' ');
  }
  const pending = [...v.unresolved, ...v['one seed'], ...v['no data']];
  return `**These runs do not yet resolve the claim:** ${report.missing.length} runs are unfinished, no detector's interval lies below zero, and ${list(pending)} ${pending.length === 1 ? 'has' : 'have'} no interval above zero yet.`;
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

/**
 * Loss terms (windowed means) and validation AP over iterations of one arm, averaged over seeds
 * (runs of one bench share their iterations and validation points).
 */
export function curvePoints(results: readonly TrainResult[], arm: string): CurvePoint[] {
  if (results.length === 0) return [];
  const history = results[0]!.history;
  const window = Math.max(1, Math.round(history.length / 100));
  const points: CurvePoint[] = [];
  const terms = Object.keys(history[0]?.losses ?? {});
  for (let start = 0; start < history.length; start += window) {
    const end = Math.min(history.length, start + window);
    for (const term of terms) {
      let sum = 0;
      for (const r of results) for (let i = start; i < end; i++) sum += r.history[i]?.losses[term] ?? NaN;
      points.push({ panel: 'loss', series: term, arm, iteration: history[end - 1]!.iteration + 1, value: sum / (results.length * (end - start)) });
    }
  }
  const byIteration = new Map<number, number[]>();
  for (const r of results) {
    const vals = [...(r.validations ?? []).map((v) => [v.iteration, v.ap] as const), ...(r.stats === null ? [] : [[r.steps, r.stats.AP] as const])];
    for (const [iteration, ap] of vals) byIteration.set(iteration, [...(byIteration.get(iteration) ?? []), ap]);
  }
  for (const [iteration, aps] of [...byIteration.entries()].sort((a, b) => a[0] - b[0])) {
    if (aps.length === results.length) points.push({ panel: 'val AP', series: 'AP', arm, iteration, value: (100 * aps.reduce((a, b) => a + b, 0)) / aps.length });
  }
  return points;
}

export interface WriteReportOptions {
  outDir?: string;
}

export async function writeReport(benchDirs: string | readonly string[], options: WriteReportOptions = {}): Promise<{ markdown: string; files: string[]; report: BenchReport }> {
  const folders = typeof benchDirs === 'string' ? [benchDirs] : [...benchDirs];
  const root = resolve(folders[0] ?? '.');
  const outDir = resolve(options.outDir ?? root);
  const { results, ...numbers } = summarizeBench(folders);
  const charts: Record<string, { svg: string; png: string }> = {};
  const deltaPoints = numbers.detectors.flatMap((d) =>
    (results.get(d.detector) ?? []).filter((p) => p.baseline.stats !== null && p.hpf.stats !== null).map((p) => ({ detector: d.detector, seed: p.hpf.seed, delta: p.hpf.stats!.AP - p.baseline.stats!.AP })),
  );
  if (deltaPoints.length > 0) {
    charts['AP delta per detector'] = await writeChart(
      join(outDir, 'ap-delta'),
      deltaChartSpec(
        deltaPoints,
        numbers.detectors.filter((d) => d.metrics.AP !== null).map((d) => ({ detector: d.detector, mean: d.metrics.AP!.delta.mean, ci95: d.metrics.AP!.delta.ci95 })),
      ),
    );
  }
  for (const d of numbers.detectors) {
    const pairs = results.get(d.detector) ?? [];
    if (pairs.length === 0) continue;
    const first = pairs[0]!.hpf;
    charts[`gamma per level, ${d.detector}`] = await writeChart(
      join(outDir, `gamma-${d.detector}`),
      gammaChartSpec(gammaPoints(first), `${d.detector} + HPF, seed ${first.seed}: gamma per level over training (gamma0 on a level without positives)`),
    );
    const curves = [...curvePoints(pairs.map((p) => p.baseline), 'baseline'), ...curvePoints(pairs.map((p) => p.hpf), 'HPF')];
    charts[`training curves, ${d.detector}`] = await writeChart(
      join(outDir, `curves-${d.detector}`),
      curvesChartSpec(curves, `${d.detector}: loss terms and validation AP over iterations, mean of ${pairs.length} seed${pairs.length === 1 ? '' : 's'}`),
    );
  }
  const report: BenchReport = { ...numbers, charts };
  const markdown = formatMarkdown(numbers, charts, outDir);
  writeFileAtomic(join(outDir, 'report.md'), markdown);
  // Chart paths and folders relative to the report, so a committed report.json names no machine's paths.
  const rel = (p: string): string => relative(outDir, p) || '.';
  const portable = {
    ...report,
    folders: report.folders.map(rel),
    charts: Object.fromEntries(Object.entries(charts).map(([name, c]) => [name, { svg: rel(c.svg), png: rel(c.png) }])),
  };
  writeFileAtomic(join(outDir, 'report.json'), JSON.stringify(portable, null, 1));
  const files = [join(outDir, 'report.md'), join(outDir, 'report.json'), ...Object.values(charts).flatMap((c) => [c.svg, c.png])];
  return { markdown, files, report };
}

export function benchExists(dir: string): boolean {
  return existsSync(join(resolve(dir), 'bench.json'));
}
