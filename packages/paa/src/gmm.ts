/**
 * A two-component 1-D Gaussian mixture fitted by expectation-maximisation, with the semantics PAA
 * relies on (scikit-learn's GaussianMixture(2, covariance_type='diag') with explicit initial
 * weights, means and precisions): E-step / M-step until the mean log-likelihood changes by less
 * than `tol`, variances regularised by `regCovar`, then one last E-step for the labels. Float64.
 */

export interface Gmm1dInit {
  weights: readonly [number, number];
  means: readonly [number, number];
  /** Initial variances (PAA: precision 1, i.e. variance 1). */
  variances: readonly [number, number];
}

export interface Gmm1dOptions {
  /** Convergence threshold on the change of the mean log-likelihood. Default 1e-3 (scikit-learn). */
  tol?: number;
  /** Maximum EM iterations. Default 100 (scikit-learn). */
  maxIter?: number;
  /** Added to each variance in the M-step. Default 1e-6 (scikit-learn). */
  regCovar?: number;
}

export interface Gmm1dFit {
  weights: [number, number];
  means: [number, number];
  variances: [number, number];
  /** EM iterations run. */
  iterations: number;
  converged: boolean;
  /** Mean log-likelihood of the samples under the final parameters. */
  logLikelihood: number;
  /** Per sample: the component with the larger weighted density (0 or 1). */
  labels: Uint8Array;
  /** Per sample: log of the mixture density (scikit-learn's score_samples). */
  scores: Float64Array;
}

const LOG_2PI = Math.log(2 * Math.PI);
// scikit-learn adds 10 * float64 eps to the responsibilities' sums.
const NK_EPS = 10 * 2.220446049250313e-16;

/** log(w_k N(x | mu_k, var_k)) for both components. */
function weightedLogDensity(x: number, w: readonly number[], mu: readonly number[], v: readonly number[], out: number[]): void {
  for (let k = 0; k < 2; k++) out[k] = Math.log(w[k]!) - 0.5 * (LOG_2PI + Math.log(v[k]!) + (x - mu[k]!) ** 2 / v[k]!);
}

function logSumExp2(a: number, b: number): number {
  const m = Math.max(a, b);
  return m === -Infinity ? -Infinity : m + Math.log(Math.exp(a - m) + Math.exp(b - m));
}

/** Fits the mixture to `samples` (at least 2) from `init`; see the module comment. */
export function fitGmm1d(samples: ArrayLike<number>, init: Gmm1dInit, options: Gmm1dOptions = {}): Gmm1dFit {
  const known = ['tol', 'maxIter', 'regCovar'];
  for (const key of Object.keys(options)) if (!known.includes(key)) throw new Error(`fitGmm1d: unknown option '${key}'`);
  const tol = options.tol ?? 1e-3;
  const maxIter = options.maxIter ?? 100;
  const regCovar = options.regCovar ?? 1e-6;
  const n = samples.length;
  if (n < 2) throw new Error(`fitGmm1d: needs at least 2 samples, got ${n}`);
  for (let i = 0; i < n; i++) if (!Number.isFinite(samples[i]!)) throw new Error(`fitGmm1d: samples[${i}] = ${samples[i]} is not finite`);
  if (!(init.variances[0] > 0 && init.variances[1] > 0)) throw new Error(`fitGmm1d: initial variances must be > 0, got ${init.variances.join(', ')}`);
  if (!(init.weights[0] > 0 && init.weights[1] > 0)) throw new Error(`fitGmm1d: initial weights must be > 0, got ${init.weights.join(', ')}`);

  const w = [init.weights[0], init.weights[1]];
  const mu = [init.means[0], init.means[1]];
  const v = [init.variances[0], init.variances[1]];
  const resp = new Float64Array(2 * n);
  const lp = [0, 0];

  /** E-step: responsibilities into `resp`, returns the mean log-likelihood. */
  const eStep = (): number => {
    let total = 0;
    for (let i = 0; i < n; i++) {
      weightedLogDensity(samples[i]!, w, mu, v, lp);
      const norm = logSumExp2(lp[0]!, lp[1]!);
      total += norm;
      resp[2 * i] = Math.exp(lp[0]! - norm);
      resp[2 * i + 1] = Math.exp(lp[1]! - norm);
    }
    return total / n;
  };

  let lowerBound = -Infinity;
  let converged = false;
  let iterations = 0;
  for (let iter = 1; iter <= maxIter; iter++) {
    iterations = iter;
    const previous = lowerBound;
    const logLikelihood = eStep();
    // M-step
    const nks = [0, 0];
    for (let k = 0; k < 2; k++) {
      let nk = NK_EPS;
      let sx = 0;
      let sxx = 0;
      for (let i = 0; i < n; i++) {
        const r = resp[2 * i + k]!;
        const x = samples[i]!;
        nk += r;
        sx += r * x;
        sxx += r * x * x;
      }
      const mean = sx / nk;
      // scikit-learn's diag form: E[x^2] - 2 mean E[x] + mean^2 + reg
      v[k] = sxx / nk - 2 * mean * (sx / nk) + mean * mean + regCovar;
      mu[k] = mean;
      nks[k] = nk;
    }
    // weights nk / n, renormalised to sum 1 as scikit-learn does
    for (let k = 0; k < 2; k++) w[k] = nks[k]! / (nks[0]! + nks[1]!);
    lowerBound = logLikelihood;
    if (Math.abs(lowerBound - previous) < tol) {
      converged = true;
      break;
    }
  }

  const labels = new Uint8Array(n);
  const scores = new Float64Array(n);
  let logLikelihood = 0;
  for (let i = 0; i < n; i++) {
    weightedLogDensity(samples[i]!, w, mu, v, lp);
    labels[i] = lp[1]! > lp[0]! ? 1 : 0;
    scores[i] = logSumExp2(lp[0]!, lp[1]!);
    logLikelihood += scores[i]!;
  }
  return {
    weights: [w[0]!, w[1]!],
    means: [mu[0]!, mu[1]!],
    variances: [v[0]!, v[1]!],
    iterations,
    converged,
    logLikelihood: logLikelihood / n,
    labels,
    scores,
  };
}
