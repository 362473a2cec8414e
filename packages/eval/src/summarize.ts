import type { Layout } from './accumulate.js';
import { AREA_LABELS, DEFAULT_MAX_DETS } from './params.js';
import type { CocoStats } from './types.js';

interface SummaryLine {
  key: keyof CocoStats;
  ap: boolean;
  iouThr: number | undefined;
  area: (typeof AREA_LABELS)[number];
  /** Index into maxDets, or 'hundred' for the literal maxDets=100 pycocotools' first AP line uses. */
  maxDet: number | 'hundred';
}

/** The 12 lines of pycocotools' _summarizeDets, in order. */
const LINES: readonly SummaryLine[] = [
  { key: 'AP', ap: true, iouThr: undefined, area: 'all', maxDet: 'hundred' },
  { key: 'AP50', ap: true, iouThr: 0.5, area: 'all', maxDet: 2 },
  { key: 'AP75', ap: true, iouThr: 0.75, area: 'all', maxDet: 2 },
  { key: 'APs', ap: true, iouThr: undefined, area: 'small', maxDet: 2 },
  { key: 'APm', ap: true, iouThr: undefined, area: 'medium', maxDet: 2 },
  { key: 'APl', ap: true, iouThr: undefined, area: 'large', maxDet: 2 },
  { key: 'AR1', ap: false, iouThr: undefined, area: 'all', maxDet: 0 },
  { key: 'AR10', ap: false, iouThr: undefined, area: 'all', maxDet: 1 },
  { key: 'AR100', ap: false, iouThr: undefined, area: 'all', maxDet: 2 },
  { key: 'ARs', ap: false, iouThr: undefined, area: 'small', maxDet: 2 },
  { key: 'ARm', ap: false, iouThr: undefined, area: 'medium', maxDet: 2 },
  { key: 'ARl', ap: false, iouThr: undefined, area: 'large', maxDet: 2 },
];

function maxDetValue(line: SummaryLine, maxDets: readonly number[]): number {
  return line.maxDet === 'hundred' ? 100 : maxDets[line.maxDet]!;
}

/**
 * Mean of the entries > -1 of the selected slice, -1 if there are none (pycocotools' _summarize).
 * `categories` restricts the mean to some category indices (all by default).
 */
export function summarizeStats(
  precision: Float64Array,
  recall: Float64Array,
  layout: Layout,
  iouThrs: Float64Array,
  maxDets: readonly number[],
  categories?: readonly number[],
): CocoStats {
  const { T, R, K, A, M } = layout;
  const ks = categories ?? Array.from({ length: K }, (_, k) => k);
  const stats = {} as CocoStats;
  for (const line of LINES) {
    // Selection by equality, as the reference does: a threshold or maxDets value that is not
    // present selects nothing and the line reads -1.
    const ts: number[] = [];
    for (let t = 0; t < T; t++) if (line.iouThr === undefined || iouThrs[t] === line.iouThr) ts.push(t);
    const a = AREA_LABELS.indexOf(line.area);
    const value = maxDetValue(line, maxDets);
    const ms: number[] = [];
    for (let m = 0; m < M; m++) if (maxDets[m] === value) ms.push(m);
    let sum = 0;
    let n = 0;
    if (a >= 0 && a < A) {
      for (const t of ts) {
        if (line.ap) {
          for (let r = 0; r < R; r++) {
            for (const k of ks) {
              for (const m of ms) {
                const v = precision[(((t * R + r) * K + k) * A + a) * M + m]!;
                if (v > -1) {
                  sum += v;
                  n++;
                }
              }
            }
          }
        } else {
          for (const k of ks) {
            for (const m of ms) {
              const v = recall[((t * K + k) * A + a) * M + m]!;
              if (v > -1) {
                sum += v;
                n++;
              }
            }
          }
        }
      }
    }
    stats[line.key] = n === 0 ? -1 : sum / n;
  }
  return stats;
}

/**
 * Python's '{:0.3f}'.format(x): the exact binary value rounded half to even (JavaScript's toFixed
 * rounds exact ties up, e.g. 0.0625 -> '0.063' where Python prints '0.062').
 */
export function formatFixed3(x: number): string {
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : x < 0 ? '-inf' : 'nan';
  const negative = x < 0 || Object.is(x, -0);
  const v = Math.abs(x);
  // v = mantissa * 2^exponent exactly; round v * 1000 to an integer, ties to even, in BigInt.
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, v);
  const bits = view.getBigUint64(0);
  const rawExp = Number((bits >> 52n) & 0x7ffn);
  const frac = bits & ((1n << 52n) - 1n);
  const mantissa = rawExp === 0 ? frac : frac | (1n << 52n);
  const exponent = (rawExp === 0 ? 1 : rawExp) - 1075;
  let scaled: bigint;
  if (exponent >= 0) {
    scaled = mantissa * 1000n * (1n << BigInt(exponent));
  } else {
    const den = 1n << BigInt(-exponent);
    const num = mantissa * 1000n;
    scaled = num / den;
    const twice = 2n * (num % den);
    if (twice > den || (twice === den && scaled % 2n === 1n)) scaled += 1n;
  }
  const digits = scaled.toString().padStart(4, '0');
  return `${negative ? '-' : ''}${digits.slice(0, -3)}.${digits.slice(-3)}`;
}

/** Python's '{:0.2f}' for the IoU labels (exact ties cannot occur for the thresholds printed). */
function formatFixed2(x: number): string {
  return x.toFixed(2);
}

/**
 * The 12 lines pycocotools' COCOeval.summarize() prints for boxes, joined with '\n' (no trailing
 * newline). `iouRange` is the first and last IoU threshold of the evaluation.
 */
export function formatSummary(
  stats: CocoStats,
  maxDets: readonly number[] = DEFAULT_MAX_DETS,
  iouRange: readonly [number, number] = [0.5, 0.95],
): string {
  return LINES.map((line) => {
    const title = (line.ap ? 'Average Precision' : 'Average Recall').padEnd(18);
    const type = line.ap ? '(AP)' : '(AR)';
    const iou = (line.iouThr === undefined
      ? `${formatFixed2(iouRange[0])}:${formatFixed2(iouRange[1])}`
      : formatFixed2(line.iouThr)).padEnd(9);
    const area = line.area.padStart(6);
    const maxDet = String(maxDetValue(line, maxDets)).padStart(3);
    return ` ${title} ${type} @[ IoU=${iou} | area=${area} | maxDets=${maxDet} ] = ${formatFixed3(stats[line.key])}`;
  }).join('\n');
}
