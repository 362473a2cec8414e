import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fitGmm1d } from '../src/index.js';

interface Fit {
  weights: number[];
  means: number[];
  variances: number[];
  iterations: number;
  converged: boolean;
  labels: number[];
  scores: number[];
  logLikelihood: number;
}
interface Case {
  kind: 'known' | 'paa';
  truth?: { weights: number[]; means: number[]; sds: number[] };
  samples: number[];
  init: { weights: [number, number]; means: [number, number]; variances: [number, number] };
  fit: Fit;
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/gmm.json', import.meta.url), 'utf8')) as { cases: Case[] };

describe('fitGmm1d (two-component 1-D Gaussian mixture by EM)', () => {
  it('recovers known mixtures from 3000-4000 draws', () => {
    const known = fixture.cases.filter((c) => c.kind === 'known');
    expect(known).toHaveLength(3);
    for (const c of known) {
      const fit = fitGmm1d(c.samples, c.init);
      expect(fit.converged).toBe(true);
      for (let k = 0; k < 2; k++) {
        expect(Math.abs(fit.means[k]! - c.truth!.means[k]!)).toBeLessThan(0.06);
        expect(Math.abs(Math.sqrt(fit.variances[k]!) - c.truth!.sds[k]!)).toBeLessThan(0.06);
        expect(Math.abs(fit.weights[k]! - c.truth!.weights[k]!)).toBeLessThan(0.04);
      }
    }
  });

  it('matches the numpy float64 EM reference (scikit-learn procedure) step for step', () => {
    for (const c of fixture.cases) {
      const fit = fitGmm1d(c.samples, c.init);
      expect(fit.iterations).toBe(c.fit.iterations);
      expect(fit.converged).toBe(c.fit.converged);
      for (let k = 0; k < 2; k++) {
        expect(fit.means[k]).toBeCloseTo(c.fit.means[k]!, 9);
        expect(fit.variances[k]).toBeCloseTo(c.fit.variances[k]!, 9);
        expect(fit.weights[k]).toBeCloseTo(c.fit.weights[k]!, 9);
      }
      expect(Array.from(fit.labels)).toEqual(c.fit.labels);
      fit.scores.forEach((s, i) => expect(s).toBeCloseTo(c.fit.scores[i]!, 7));
      expect(fit.logLikelihood).toBeCloseTo(c.fit.logLikelihood, 9);
    }
  });

  it('a hand-checked first EM step: two far-apart points split into two components', () => {
    // With means at the points and variance 1, one point's responsibility for the other component is
    // 1 / (1 + e^{d^2 / 2}); for d = 10 it is ~2e-22, so after the M-step each component sits on its
    // point with variance ~reg_covar and weight 1/2.
    const fit = fitGmm1d([0, 10], { weights: [0.5, 0.5], means: [0, 10], variances: [1, 1] }, { maxIter: 1 });
    expect(fit.iterations).toBe(1);
    expect(fit.means[0]).toBeCloseTo(0, 12);
    expect(fit.means[1]).toBeCloseTo(10, 12);
    expect(fit.variances[0]).toBeCloseTo(1e-6, 12);
    expect(fit.weights).toEqual([0.5, 0.5]);
    expect(Array.from(fit.labels)).toEqual([0, 1]);
  });

  it('rejects bad input', () => {
    const init = { weights: [0.5, 0.5], means: [0, 1], variances: [1, 1] } as const;
    expect(() => fitGmm1d([1], init)).toThrow(/at least 2 samples/);
    expect(() => fitGmm1d([1, NaN], init)).toThrow(/samples\[1\]/);
    expect(() => fitGmm1d([1, 2], { ...init, variances: [0, 1] })).toThrow(/variances/);
    expect(() => fitGmm1d([1, 2], init, { tolerance: 1 } as never)).toThrow(/unknown option 'tolerance'/);
  });
});
