/**
 * Float64 reference formulas, written for the tests only, straight from the papers / mmdetection's
 * definitions (probabilities and logs, no shared code with src/).
 */

export const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));
/** log(1 + e^z) without overflow. */
export const softplus = (z: number): number => Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z)));
/** Binary cross-entropy with logits for a (soft) target y. */
export const bceWithLogits = (z: number, y: number): number => softplus(z) - z * y;

export type Matrix = number[][];

/** mmdetection sigmoid focal loss, elementwise [N][C], weighted per prior; label -1 or weight 0 ignored. */
export function focalRef(logits: Matrix, labels: number[], weights: number[] | undefined, gamma: number, alpha: number): Matrix {
  return logits.map((row, i) => {
    const ignored = labels[i]! < 0 || (weights !== undefined && weights[i] === 0);
    const w = ignored ? 0 : (weights?.[i] ?? 1);
    return row.map((z, c) => {
      const t = labels[i] === c && !ignored ? 1 : 0;
      const p = sigmoid(z);
      const pt = t === 1 ? 1 - p : p;
      const alphaT = t === 1 ? alpha : 1 - alpha;
      return w * alphaT * pt ** gamma * bceWithLogits(z, t);
    });
  });
}

/** mmdetection quality focal loss per prior [N]. */
export function qflRef(logits: Matrix, labels: number[], scores: number[], weights: number[] | undefined, beta: number): number[] {
  return logits.map((row, i) => {
    const ignored = labels[i]! < 0 || (weights !== undefined && weights[i] === 0);
    const w = ignored ? 0 : (weights?.[i] ?? 1);
    let total = 0;
    row.forEach((z, c) => {
      const p = sigmoid(z);
      if (labels[i] === c) total += bceWithLogits(z, scores[i]!) * Math.abs(scores[i]! - p) ** beta;
      else total += bceWithLogits(z, 0) * p ** beta;
    });
    return w * total;
  });
}

/** mmdetection varifocal loss (iou_weighted), elementwise [N][C]. */
export function vflRef(logits: Matrix, targets: Matrix, weights: number[] | undefined, gamma: number, alpha: number, iouWeighted = true): Matrix {
  return logits.map((row, i) =>
    row.map((z, c) => {
      const q = targets[i]![c]!;
      const p = sigmoid(z);
      const focalWeight = q > 0 ? (iouWeighted ? q : 1) : alpha * Math.abs(p - q) ** gamma;
      return (weights?.[i] ?? 1) * bceWithLogits(z, q) * focalWeight;
    }),
  );
}

/** mmdetection distribution focal loss per prior. */
export function dflRef(logits: Matrix, targets: number[]): number[] {
  return logits.map((row, i) => {
    const m = Math.max(...row);
    const logZ = m + Math.log(row.reduce((s, z) => s + Math.exp(z - m), 0));
    const y = targets[i]!;
    const left = Math.floor(y);
    const logProb = (k: number) => (k < row.length ? row[k]! - logZ : 0);
    return -((left + 1 - y) * logProb(left) + (y - left) * logProb(left + 1));
  });
}

export type Box = [number, number, number, number];

/** mmdetection aligned bbox_overlaps. */
export function overlapRef(p: Box, q: Box, mode: 'iou' | 'giou', eps: number): number {
  const area = (b: Box) => (b[2] - b[0]) * (b[3] - b[1]);
  const iw = Math.max(Math.min(p[2], q[2]) - Math.max(p[0], q[0]), 0);
  const ih = Math.max(Math.min(p[3], q[3]) - Math.max(p[1], q[1]), 0);
  const inter = iw * ih;
  const union = Math.max(area(p) + area(q) - inter, eps);
  const iou = inter / union;
  if (mode === 'iou') return iou;
  const ew = Math.max(Math.max(p[2], q[2]) - Math.min(p[0], q[0]), 0);
  const eh = Math.max(Math.max(p[3], q[3]) - Math.min(p[1], q[1]), 0);
  const enclose = Math.max(ew * eh, eps);
  return iou - (enclose - union) / enclose;
}

/** HPF statistic of one set of positives' logits. */
export function statisticRef(positiveLogits: number[], kind: 'mean-nll' | 'nll-of-mean'): number | null {
  if (positiveLogits.length === 0) return null;
  if (kind === 'mean-nll') return positiveLogits.reduce((s, z) => s - Math.log(sigmoid(z)), 0) / positiveLogits.length;
  return -Math.log(positiveLogits.reduce((s, z) => s + sigmoid(z), 0) / positiveLogits.length);
}

export const clip = (x: number, lo: number, hi: number): number => Math.min(Math.max(x, lo), hi);

export const sum = (xs: number[]): number => xs.reduce((s, x) => s + x, 0);
export const sumMatrix = (m: Matrix): number => sum(m.map(sum));

/** Central finite differences of f at x (float64). */
export function finiteDifferences(f: (x: number[]) => number, x: number[], h = 1e-5): number[] {
  return x.map((_, k) => {
    const plus = x.slice();
    const minus = x.slice();
    plus[k]! += h;
    minus[k]! -= h;
    return (f(plus) - f(minus)) / (2 * h);
  });
}

/** Deterministic uniform numbers in [0, 1) (mulberry32). */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function reshape(flat: ArrayLike<number>, rows: number, cols: number): Matrix {
  return Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, c) => flat[i * cols + c]!));
}
