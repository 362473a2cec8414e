/** Progress display of `hpf train`: one line that fits the terminal, redrawn in place; periodic plain log lines when not on a terminal. */
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

const SEPARATOR = '  ';

/**
 * The progress line in at most `width` characters: iteration/steps and ETA first, then as many of
 * loss, lr, img/s and gamma as fit, in that order (a part that does not fit ends the line), each
 * in its short form first; the space left then widens the loss to its terms. Infinity: all of it.
 */
export function formatProgressLine(e: ProgressEvent, width = Infinity): string {
  const head = [`iter ${e.iteration + 1}/${e.steps}`, `ETA ${formatDuration(e.etaSeconds)}`];
  // each part's forms, shortest first
  const parts: string[][] = [
    [`loss ${(e.losses.total ?? 0).toFixed(3)}`, formatLosses(e.losses)],
    [`lr ${e.lr.toPrecision(3)}`],
    [`${e.imagesPerSecond.toFixed(1)} img/s`],
    [formatGammas(e.gammas)],
  ];
  const length = (chosen: readonly string[]): number => chosen.join(SEPARATOR).length;
  const line = [...head];
  if (length(line) > width) return line.join(SEPARATOR).slice(0, Math.max(0, width));
  const shown: number[] = [];
  for (const forms of parts) {
    if (length([...line, forms[0]!]) > width) break;
    line.push(forms[0]!);
    shown.push(0);
  }
  for (let p = 0; p < shown.length; p++) {
    for (let f = parts[p]!.length - 1; f > shown[p]!; f--) {
      const wider = line.map((s, i) => (i === head.length + p ? parts[p]![f]! : s));
      if (length(wider) <= width) {
        line.splice(0, line.length, ...wider);
        shown[p] = f;
        break;
      }
    }
  }
  return line.join(SEPARATOR);
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
  // The line is ours (formatProgressLine at the terminal's width, read at every redraw, so a
  // resized terminal gets a line that fits); cli-progress redraws it at most `fps` times a second.
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: (_options, params, payload: { event?: ProgressEvent }) =>
        payload.event === undefined ? `iter ${params.value}/${params.total}` : formatProgressLine(payload.event, Math.max(20, params.maxWidth - 1)),
      hideCursor: true,
      clearOnComplete: false,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    start: (startIteration, steps) => {
      bar.start(steps, startIteration, {});
      started = true;
    },
    update: (e) => bar.update(e.iteration + 1, { event: e }),
    // SingleBar has no log(): clear the bar's line, print, and let the next update redraw it.
    log: (line) => (started ? stream.write(`\r\x1b[K${line}\n`) : write(line)),
    stop: () => {
      if (started) bar.stop();
      started = false;
    },
  };
}
