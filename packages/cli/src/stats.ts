/** Statistics of the stable-gain report: mean, sample sd, paired deltas and wins over seeds. */

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
  /** hpf - baseline per seed, then mean and sd of those differences. */
  delta: { mean: number; sd: number | null; values: number[] };
  /** Seeds where hpf > baseline (ties count for neither side). */
  wins: number;
  losses: number;
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
    delta: { mean: mean(deltas), sd: sampleSd(deltas), values: deltas },
    wins: deltas.filter((d) => d > 0).length,
    losses: deltas.filter((d) => d < 0).length,
  };
}
