/** Statistics of the stable-gain report: mean, sample sd, paired deltas, their t-interval and wins over seeds. */
import tQuantile from '@stdlib/stats-base-dists-t-quantile';

export function mean(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('mean of an empty list');
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Sample standard deviation (n - 1); null for fewer than two values. */
export function sampleSd(xs: readonly number[]): number | null {
  if (xs.length < 2) return null;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

export interface PairedSummary {
  n: number;
  baseline: { mean: number; sd: number | null };
  hpf: { mean: number; sd: number | null };
  /** hpf - baseline per seed, then mean and sd of those differences and their 95% t-interval. */
  delta: { mean: number; sd: number | null; ci95: [number, number] | null; values: number[] };
  /** Seeds where hpf > baseline (ties count for neither side). */
  wins: number;
  losses: number;
}

/**
 * Two-sided 95% confidence interval of the mean of `xs` by Student's t with n - 1 degrees of
 * freedom (the paired t-interval when `xs` are paired differences); null for fewer than two values.
 */
export function tInterval95(xs: readonly number[]): [number, number] | null {
  const sd = sampleSd(xs);
  if (sd === null) return null;
  const m = mean(xs);
  const half = tQuantile(0.975, xs.length - 1) * (sd / Math.sqrt(xs.length));
  return [m - half, m + half];
}

/** `baseline[i]` and `hpf[i]` are the same seed. */
export function pairedSummary(baseline: readonly number[], hpf: readonly number[]): PairedSummary {
  if (baseline.length !== hpf.length || baseline.length === 0) {
    throw new Error(`paired summary needs the same non-zero number of values per arm, got ${baseline.length} and ${hpf.length}`);
  }
  const deltas = hpf.map((h, i) => h - baseline[i]!);
  return {
    n: baseline.length,
    baseline: { mean: mean(baseline), sd: sampleSd(baseline) },
    hpf: { mean: mean(hpf), sd: sampleSd(hpf) },
    delta: { mean: mean(deltas), sd: sampleSd(deltas), ci95: tInterval95(deltas), values: deltas },
    wins: deltas.filter((d) => d > 0).length,
    losses: deltas.filter((d) => d < 0).length,
  };
}
