/**
 * `results.csv` of a run folder: one row per log step (the first iteration, every `logEvery`-th,
 * every validation and the last one trained), with the iteration's record as the history stores
 * it, the throughput, and the validation AP where one was measured. Numbers are written with
 * JavaScript's shortest round-trip form, so a parsed cell equals the record's float64 exactly.
 */
import type { IterationRecord } from '@hpf/engine/node';

/** The first pyramid level every adapter uses (P3, stride 8): gamma and positive columns count from it. */
const FIRST_LEVEL = 3;

export interface ResultsRow {
  /** Iterations done (the history record's index + 1), as the progress line and validations count. */
  iteration: number;
  epoch: number;
  record: IterationRecord;
  /** null in rows rebuilt from a checkpoint's history, which keeps no throughput. */
  imagesPerSecond: number | null;
  valAp: number | null;
  valAp50: number | null;
}

/** The loss terms in the order the record lists them, `total` last as `loss`. */
function lossColumns(record: IterationRecord): Array<{ column: string; key: string }> {
  const terms = Object.keys(record.losses).filter((k) => k !== 'total');
  return [...terms.map((k) => ({ column: k, key: k })), { column: 'loss', key: 'total' }];
}

/** The header of a run whose records look like `record` (loss terms and level count fix the columns). */
export function resultsHeader(record: IterationRecord): string[] {
  const levels = record.gammas.map((_, i) => `P${FIRST_LEVEL + i}`);
  return ['iteration', 'epoch', ...lossColumns(record).map((c) => c.column), 'lr', ...levels.map((l) => `gamma_${l}`), ...levels.map((l) => `pos_${l}`), 'img_s', 'val_AP', 'val_AP50'];
}

const cell = (v: number | null): string => (v === null ? '' : String(v));

export function resultsLine(row: ResultsRow): string {
  const r = row.record;
  return [
    row.iteration,
    row.epoch,
    ...lossColumns(r).map((c) => r.losses[c.key]!),
    r.lr,
    ...r.gammas,
    ...r.positives,
    row.imagesPerSecond === null ? null : Number(row.imagesPerSecond.toFixed(2)),
    row.valAp,
    row.valAp50,
  ]
    .map(cell)
    .join(',');
}

/** The whole file: header and one line per row (rows in iteration order). */
export function resultsCsv(rows: readonly ResultsRow[]): string {
  if (rows.length === 0) return '';
  return [resultsHeader(rows[0]!.record).join(','), ...rows.map(resultsLine)].join('\n') + '\n';
}

/** Rows of a history (e.g. a checkpoint's, when a resumed run finds no results.csv of its own): log steps only, no throughput. */
export function rowsFromHistory(history: readonly IterationRecord[], iterationsPerEpoch: number, logEvery: number): ResultsRow[] {
  return history
    .filter((r, i) => isLogStep(r.iteration + 1, logEvery) || i === history.length - 1)
    .map((record) => ({ iteration: record.iteration + 1, epoch: Math.floor(record.iteration / iterationsPerEpoch), record, imagesPerSecond: null, valAp: null, valAp50: null }));
}

/** A log step by iteration count: the first and every `logEvery`-th. */
export function isLogStep(iteration: number, logEvery: number): boolean {
  return iteration === 1 || iteration % logEvery === 0;
}

/**
 * Parses results.csv back into rows, given the history the rows must come from (their losses,
 * lr, gamma and positives are the history's records; the file adds throughput and val AP).
 * Returns undefined when the file is not this run's (another header, or rows that disagree
 * with the history), so the caller rebuilds it from the history instead.
 */
export function parseResultsCsv(text: string, history: readonly IterationRecord[]): ResultsRow[] | undefined {
  const lines = text.split('\n').filter((l) => l.length > 0);
  if (lines.length === 0 || history.length === 0) return undefined;
  const header = resultsHeader(history[0]!);
  if (lines[0] !== header.join(',')) return undefined;
  const rows: ResultsRow[] = [];
  for (const line of lines.slice(1)) {
    const cells = line.split(',');
    if (cells.length !== header.length) return undefined;
    const iteration = Number(cells[0]);
    const record = history[iteration - 1];
    // Rows after the history's end were trained after the last checkpoint: a resume redoes them.
    if (record === undefined) break;
    const num = (name: string): number | null => {
      const v = cells[header.indexOf(name)]!;
      return v === '' ? null : Number(v);
    };
    const row: ResultsRow = { iteration, epoch: Number(cells[1]), record, imagesPerSecond: num('img_s'), valAp: num('val_AP'), valAp50: num('val_AP50') };
    // The record's own cells (losses, lr, gammas, positives) must be what the file holds.
    const recordCells = (c: readonly string[]): string => c.slice(2, header.indexOf('img_s')).join(',');
    if (recordCells(cells) !== recordCells(resultsLine(row).split(','))) return undefined;
    rows.push(row);
  }
  return rows;
}
