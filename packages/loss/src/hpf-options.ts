import { expectNumber, rejectUnknownKeys } from './checks.js';

/** `hierarchical`: one statistic per level (HPF); `global`: one over all levels; `off`: static gamma0. */
export type HpfMode = 'hierarchical' | 'global' | 'off';
/** `mean-nll`: mean of -log sigmoid(z) over positives (the paper's); `nll-of-mean`: -log of mean sigmoid(z). */
export type HpfStatistic = 'mean-nll' | 'nll-of-mean';

export interface HpfOptions {
  mode: HpfMode;
  /** Centre of the focusing exponent (gamma for FL/VFL, beta for QFL). */
  gamma0: number;
  /** Half-width of gamma's range: gamma_l = clip(s_l, gamma0 - delta, gamma0 + delta). */
  delta: number;
  /** Balance numerator: alpha_l = w / gamma_l. */
  w: number;
  statistic: HpfStatistic;
  /** EMA of s_l across iterations: s <- momentum s + (1 - momentum) s_new; 0 = off. */
  momentum: number;
  /** Number of iterations kept in `ProgressiveFocus.history`. */
  historyLimit: number;
}

/** The defaults of docs/architecture.md section 1: gamma0 = 2, delta = 0.5, w = 0.5 (gamma = 2 gives alpha = 0.25). */
export const DEFAULT_HPF_OPTIONS: Readonly<HpfOptions> = Object.freeze({
  mode: 'hierarchical',
  gamma0: 2,
  delta: 0.5,
  w: 0.5,
  statistic: 'mean-nll',
  momentum: 0,
  historyLimit: 10_000,
});

const OPTION_NAMES = Object.keys(DEFAULT_HPF_OPTIONS);
const MODES: readonly HpfMode[] = ['hierarchical', 'global', 'off'];
const STATISTICS: readonly HpfStatistic[] = ['mean-nll', 'nll-of-mean'];

/**
 * Fills `options` with the defaults and validates every field; throws an Error naming the
 * offending option (unknown option, unknown mode/statistic, delta < 0, gamma0 - delta < 0, w <= 0,
 * momentum outside [0, 1), ...).
 */
export function validateHpfOptions(options: Partial<HpfOptions> = {}, where = 'HPF options'): HpfOptions {
  if (options === null || typeof options !== 'object') throw new Error(`${where}: options must be an object`);
  rejectUnknownKeys(options, OPTION_NAMES, where);
  const given = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
  const merged: HpfOptions = { ...DEFAULT_HPF_OPTIONS, ...given };
  if (!MODES.includes(merged.mode)) {
    throw new Error(`${where}: unknown mode '${String(merged.mode)}' (expected ${MODES.join(', ')})`);
  }
  if (!STATISTICS.includes(merged.statistic)) {
    throw new Error(`${where}: unknown statistic '${String(merged.statistic)}' (expected ${STATISTICS.join(', ')})`);
  }
  expectNumber(merged.gamma0, 'gamma0', where, 0);
  expectNumber(merged.delta, 'delta', where, 0);
  if (merged.gamma0 - merged.delta < 0) {
    throw new Error(
      `${where}: gamma0 - delta must be >= 0 (gamma is clipped to [gamma0 - delta, gamma0 + delta]), got gamma0 = ${merged.gamma0}, delta = ${merged.delta}`,
    );
  }
  expectNumber(merged.w, 'w', where, 0, true);
  expectNumber(merged.momentum, 'momentum', where, 0);
  if (merged.momentum >= 1) throw new Error(`${where}: momentum must be in [0, 1), got ${merged.momentum}`);
  expectNumber(merged.historyLimit, 'historyLimit', where, 0);
  if (!Number.isInteger(merged.historyLimit)) {
    throw new Error(`${where}: historyLimit must be an integer, got ${merged.historyLimit}`);
  }
  return merged;
}

/** A detector's published focusing parameters (e.g. RetinaNet gamma 2, alpha 0.25; GFL beta 2). */
export interface PublishedFocus {
  /** gamma (FL, VFL) or beta (QFL). */
  gamma: number;
  /** alpha (FL, VFL); omit for losses without one (QFL). */
  alpha?: number;
}

/**
 * Turns a detector's `hpf` option into full HpfOptions, the same way for every adapter:
 * - `false`: mode 'off' with the published gamma and alpha (w = alpha * gamma, delta = 0): the
 *   detector as published;
 * - `true`: HPF ('hierarchical') centred on the published values (gamma0 = gamma, w = alpha * gamma,
 *   so gamma_l = gamma0 reproduces the published alpha), delta 0.5;
 * - an object: `true`'s options overridden by its fields (unknown fields are an error).
 */
export function resolveHpfOptions(hpf: boolean | Partial<HpfOptions>, published: PublishedFocus): HpfOptions {
  const where = 'resolveHpfOptions';
  rejectUnknownKeys(published, ['gamma', 'alpha'], `${where}: published`);
  const gamma = expectNumber(published.gamma, 'published.gamma', where, 0);
  const alpha = published.alpha === undefined ? undefined : expectNumber(published.alpha, 'published.alpha', where, 0, true);
  const base: HpfOptions = { ...DEFAULT_HPF_OPTIONS, gamma0: gamma, w: alpha === undefined ? DEFAULT_HPF_OPTIONS.w : alpha * gamma };
  if (hpf === false) return validateHpfOptions({ ...base, mode: 'off', delta: 0 }, `${where}(false)`);
  if (hpf === true) return validateHpfOptions(base, `${where}(true)`);
  if (hpf === null || typeof hpf !== 'object') {
    throw new Error(`${where}: hpf must be true, false or an options object, got ${String(hpf)}`);
  }
  rejectUnknownKeys(hpf, OPTION_NAMES, `${where}: hpf`);
  const given = Object.fromEntries(Object.entries(hpf).filter(([, value]) => value !== undefined));
  return validateHpfOptions({ ...base, ...given }, `${where}: hpf`);
}
