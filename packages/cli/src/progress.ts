/** Progress display of `hpf train`: a cli-progress bar on a terminal, periodic log lines otherwise. */
import cliProgress from 'cli-progress';
import type { ProgressEvent } from './train.js';

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(r).padStart(2, '0')}s` : `${r}s`;
}

/** "loss 1.234 (cls 0.512 bbox 0.601 centerness 0.121)": loss_ prefixes dropped. */
export function formatLosses(losses: Record<string, number>): string {
  const terms = Object.entries(losses)
    .filter(([k]) => k !== 'total')
    .map(([k, v]) => `${k.replace(/^loss_/, '')} ${v.toFixed(3)}`);
  return `loss ${(losses.total ?? 0).toFixed(3)} (${terms.join(' ')})`;
}

export function formatGammas(gammas: readonly number[]): string {
  return `gamma P3-P7 ${gammas.map((g) => g.toFixed(2)).join(' ')}`;
}

export function formatProgressLine(e: ProgressEvent): string {
  return `iter ${e.iteration + 1}/${e.steps}  ${formatLosses(e.losses)}  ${formatGammas(e.gammas)}  lr ${e.lr.toPrecision(3)}  ${e.imagesPerSecond.toFixed(1)} img/s  ETA ${formatDuration(e.etaSeconds)}`;
}

export interface ProgressView {
  start(startIteration: number, steps: number): void;
  update(e: ProgressEvent): void;
  /** A line above the bar (checkpoint saved, ...). */
  log(line: string): void;
  stop(): void;
}

export function createProgressView(stream: NodeJS.WriteStream, logEvery: number, write: (line: string) => void): ProgressView {
  if (stream.isTTY !== true) {
    return {
      start: () => {},
      update: (e) => {
        if ((e.iteration + 1) % logEvery === 0 || e.iteration === 0 || e.iteration + 1 === e.steps) write(formatProgressLine(e));
      },
      log: write,
      stop: () => {},
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: 'iter {value}/{total} {bar} {losses} | {gammas} | {rate} img/s | ETA {etaText}',
      barsize: 20,
      hideCursor: true,
      clearOnComplete: false,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    start: (startIteration, steps) => {
      bar.start(steps, startIteration, { losses: '', gammas: '', rate: '-', etaText: '?' });
      started = true;
    },
    update: (e) => bar.update(e.iteration + 1, { losses: formatLosses(e.losses), gammas: formatGammas(e.gammas), rate: e.imagesPerSecond.toFixed(1), etaText: formatDuration(e.etaSeconds) }),
    // SingleBar has no log(): clear the bar's line, print, and let the next update redraw it.
    log: (line) => (started ? stream.write(`\r\x1b[K${line}\n`) : write(line)),
    stop: () => {
      if (started) bar.stop();
      started = false;
    },
  };
}
