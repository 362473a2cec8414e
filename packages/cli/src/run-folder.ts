/**
 * The files of an `hpf train` run folder besides the checkpoint and result.json, written as the
 * run goes so that a crash keeps what was written: args.json (every resolved option) before the
 * first iteration, results.csv at every log step and validation, curves.svg / curves.png at every
 * validation and at the end. Every write replaces its file atomically (temp file + rename).
 * A folder holding another run's files is refused before any work (`checkRunFolder`).
 */
import { copyFileSync, existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '@hpf/data';
import type { FitIterationEvent, IterationRecord } from '@hpf/engine/node';
import { runCurvesChartSpec, writeChart, type RunCurvePoint } from './charts.js';
import type { MeasuredAp } from './early-stop.js';
import { isLogStep, parseResultsCsv, resultsCsv, resultsHeader, rowsFromHistory, type ResultsRow } from './results-csv.js';
import type { TrainOptions } from './train.js';

export const ARGS_FILE = 'args.json';
export const RESULTS_CSV_FILE = 'results.csv';
/** curves.svg and curves.png */
export const CURVES_BASE = 'curves';
export const BEST_CHECKPOINT_FILE = 'best.hpf';

/** Every option of a run; `satisfies` makes an option added to TrainOptions a compile error here until args.json lists it. */
const OPTION_KEYS = {
  detector: true,
  hpf: true,
  data: true,
  out: true,
  steps: true,
  batchSize: true,
  inputSize: true,
  lr: true,
  warmupIters: true,
  warmupRatio: true,
  lrSteps: true,
  lrGamma: true,
  momentum: true,
  weightDecay: true,
  clipGradNorm: true,
  seed: true,
  backbone: true,
  backboneWeights: true,
  loadFrom: true,
  frozenStages: true,
  normEval: true,
  inputNorm: true,
  neckChannels: true,
  featChannels: true,
  stackedConvs: true,
  smallInput: true,
  checkpointEvery: true,
  resume: true,
  allowBackendChange: true,
  evaluate: true,
  valEvery: true,
  valEveryEpochs: true,
  patience: true,
  logEvery: true,
  flipProbability: true,
  scaleJitter: true,
  colorJitter: true,
  dataCache: true,
  detectorOptions: true,
} as const satisfies Record<keyof TrainOptions, true>;

export interface RunArgs {
  format: 1;
  /** The @hpf/cli version that trained. */
  hpfVersion: string;
  /** Every option: as given, its default, or resolved for this data set (inputSize, warmupIters, lrSteps); null: not set (off). */
  options: Record<keyof TrainOptions, unknown>;
  /** What the options come to on this data set. */
  derived: Record<string, unknown>;
}

/** `options` with every key present: `resolved` fills the data-dependent defaults, the rest are null. */
export function runArgs(options: TrainOptions, resolved: Partial<TrainOptions>, derived: Record<string, unknown>): RunArgs {
  const given = options as unknown as Record<string, unknown>;
  const filled = resolved as Record<string, unknown>;
  const all = Object.fromEntries(Object.keys(OPTION_KEYS).map((k) => [k, given[k] ?? filled[k] ?? null])) as Record<keyof TrainOptions, unknown>;
  return { format: 1, hpfVersion: cliPackageVersion(), options: all, derived };
}

function cliPackageVersion(): string {
  // one folder above src/ and dist/ alike
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

function readArgs(path: string): RunArgs {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as RunArgs;
  } catch (error) {
    throw new Error(`${path}: not a readable args.json (${(error as Error).message}); choose another --out`, { cause: error });
  }
}

/**
 * Refuses, before any work, a folder whose files belong to another run: an args.json with other
 * options (`differs` names the first), or run files without an args.json. With --resume the
 * checkpoint decides (a resume with other options is refused when it is read).
 */
export function checkRunFolder(dir: string, args: RunArgs, resume: boolean, differs: (stored: Record<string, unknown>, now: Record<string, unknown>) => string | undefined): void {
  if (resume) return;
  const argsPath = join(dir, ARGS_FILE);
  if (existsSync(argsPath)) {
    const difference = differs(readArgs(argsPath).options, args.options);
    if (difference !== undefined) throw new Error(`${argsPath}: this folder holds another run (${difference}); choose another --out, or pass --resume to continue that run`);
    return;
  }
  for (const file of [RESULTS_CSV_FILE, BEST_CHECKPOINT_FILE, `${CURVES_BASE}.png`, `${CURVES_BASE}.svg`, 'result.json']) {
    const path = join(dir, file);
    if (existsSync(path)) throw new Error(`${path} exists but ${ARGS_FILE} does not: this folder holds files of another run; choose another --out`);
  }
}

/** Copies a checkpoint atomically (the final model becoming best.hpf). */
export function copyFileAtomic(from: string, to: string): void {
  const temp = `${to}.tmp-${process.pid}`;
  try {
    copyFileSync(from, temp);
    renameSync(temp, to);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

export interface RunFolderOptions {
  dir: string;
  logEvery: number;
  iterationsPerEpoch: number;
  /** The chart's title for a run at `iteration`. */
  title: (iteration: number) => string;
  log: (line: string) => void;
}

/** Charts get at most this many iterations (every k-th row, validation rows always). */
const MAX_CHART_ROWS = 2000;

export class RunFolder {
  private rows: ResultsRow[] = [];
  private last: ResultsRow | undefined;
  private restored: { history: IterationRecord[]; validations: MeasuredAp[] } | undefined;

  constructor(private readonly o: RunFolderOptions) {}

  get bestPath(): string {
    return join(this.o.dir, BEST_CHECKPOINT_FILE);
  }

  private get csvPath(): string {
    return join(this.o.dir, RESULTS_CSV_FILE);
  }

  /** What a resumed run restores from its checkpoint (called from the resume check). */
  restore(history: readonly IterationRecord[], validations: readonly MeasuredAp[]): void {
    this.restored = { history: [...history], validations: [...validations] };
  }

  /**
   * Before the first iteration (after a resume check passed): writes args.json; a fresh run
   * clears a previous attempt's files (same options: checked), a resumed one keeps the rows up to
   * its checkpoint and drops the later ones, which it trains again.
   */
  start(args: RunArgs, startIteration: number): void {
    writeFileAtomic(join(this.o.dir, ARGS_FILE), `${JSON.stringify(args, null, 2)}\n`);
    if (startIteration === 0 || this.restored === undefined) {
      for (const file of [RESULTS_CSV_FILE, BEST_CHECKPOINT_FILE, `${CURVES_BASE}.png`, `${CURVES_BASE}.svg`]) rmSync(join(this.o.dir, file), { force: true });
      this.rows = [];
      return;
    }
    const { history, validations } = this.restored;
    // parseResultsCsv stops at the rows after the checkpoint (the history's end): they are trained again.
    const parsed = existsSync(this.csvPath) ? parseResultsCsv(readFileSync(this.csvPath, 'utf8'), history) : undefined;
    if (parsed === undefined) this.o.log(`${this.csvPath}: rebuilt from the checkpoint's history (no throughput for those rows)`);
    this.rows = parsed ?? rowsFromHistory(history, this.o.iterationsPerEpoch, this.o.logEvery);
    for (const v of validations) this.setMeasured(v);
    this.last = this.rows.at(-1);
    this.writeCsv();
  }

  /** Every iteration; a log step adds its row and rewrites results.csv. */
  iteration(e: FitIterationEvent): void {
    const record: IterationRecord = { iteration: e.iteration, lr: e.lr, losses: e.losses, gammas: e.gammas, positives: e.positives };
    this.last = { iteration: e.iteration + 1, epoch: e.epoch, record, imagesPerSecond: e.imagesPerSecond, valAp: null, valAp50: null };
    if (isLogStep(this.last.iteration, this.o.logEvery)) {
      this.rows.push(this.last);
      this.writeCsv();
    }
  }

  /** A validation during training: its row gets the AP columns; results.csv and the curves are rewritten. */
  async validation(v: MeasuredAp): Promise<void> {
    this.addLastRow();
    this.setMeasured(v);
    this.writeCsv();
    await this.writeCurves(v.iteration);
  }

  /** The end (finished, stopped early or interrupted): the last iteration's row, the final evaluation's AP when there is one, the curves. */
  async finish(final?: MeasuredAp): Promise<void> {
    this.addLastRow();
    if (final !== undefined) this.setMeasured(final);
    this.writeCsv();
    await this.writeCurves(this.last?.iteration ?? 0);
  }

  private addLastRow(): void {
    if (this.last !== undefined && this.rows.at(-1)?.iteration !== this.last.iteration) this.rows.push(this.last);
  }

  private setMeasured(v: MeasuredAp): void {
    const row = this.rows.find((r) => r.iteration === v.iteration);
    if (row === undefined) return;
    row.valAp = v.ap;
    row.valAp50 = v.ap50;
  }

  private writeCsv(): void {
    if (this.rows.length > 0) writeFileAtomic(this.csvPath, resultsCsv(this.rows));
  }

  private async writeCurves(iteration: number): Promise<void> {
    if (this.rows.length === 0) return;
    try {
      await writeChart(join(this.o.dir, CURVES_BASE), runCurvesChartSpec(curvePoints(this.rows), this.o.title(iteration)));
    } catch (error) {
      // A chart that cannot be drawn must not end a training run; it is said, not hidden.
      this.o.log(`${join(this.o.dir, CURVES_BASE)}.png not updated: ${(error as Error).message}`);
    }
  }
}

/** The chart's points: loss terms (the header's names), lr, val AP and AP50 in percent, gamma per level. */
export function curvePoints(rows: readonly ResultsRow[]): RunCurvePoint[] {
  const stride = Math.max(1, Math.ceil(rows.length / MAX_CHART_ROWS));
  const kept = rows.filter((r, i) => i % stride === 0 || i === rows.length - 1 || r.valAp !== null);
  const header = resultsHeader(rows[0]!.record);
  return kept.flatMap((row) => {
    const { iteration, record } = row;
    const points: RunCurvePoint[] = [];
    for (const [key, value] of Object.entries(record.losses)) points.push({ panel: 'loss', series: key === 'total' ? 'loss' : key, iteration, value });
    points.push({ panel: 'lr', series: 'lr', iteration, value: record.lr });
    record.gammas.forEach((value, l) => points.push({ panel: 'gamma', series: header[header.indexOf('lr') + 1 + l]!.replace(/^gamma_/, ''), iteration, value }));
    if (row.valAp !== null) points.push({ panel: 'val AP', series: 'AP', iteration, value: 100 * row.valAp });
    if (row.valAp50 !== null) points.push({ panel: 'val AP', series: 'AP50', iteration, value: 100 * row.valAp50 });
    return points;
  });
}
