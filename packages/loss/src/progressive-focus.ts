import * as tf from '@tensorflow/tfjs-core';
import { expectNumber, rejectUnknownKeys } from './checks.js';
import { checkLabelTargets, countedLabelsOf, focalCoefficients, focalFromTerms, focalTerms, ownClassLogits, type LabelTargets, type PriorValue } from './focal.js';
import { validateHpfOptions, type HpfMode, type HpfOptions } from './hpf-options.js';
import { checkQualityTargets, qualityFromTerms, qualityTerms, type QualityTargets } from './quality-focal.js';
import { checkVarifocalTargets, varifocalFromTerms, varifocalTerms, type VarifocalTargets } from './varifocal.js';

/** Which loss the progressive focus drives ('custom': `levelFocus`, the caller builds the loss). */
export type FocusedLoss = 'focal' | 'quality-focal' | 'varifocal' | 'custom';

/** What one level did in one iteration. Plain numbers, safe to keep and serialise. */
export interface LevelStats {
  readonly level: number;
  /** Counted positives: foreground entries with weight > 0. */
  readonly numPositives: number;
  /** This iteration's s_l; null when the level has no positives. */
  readonly statistic: number | null;
  /**
   * The value that was clipped into gamma: s_l itself, its EMA (momentum > 0), or the all-level
   * statistic in 'global' mode; null when gamma fell back to gamma0 (mode 'off', no positives).
   */
  readonly focusStatistic: number | null;
  /** Focusing exponent used (beta for quality focal loss). */
  readonly gamma: number;
  /** w / gamma; null for quality focal loss, which has no alpha. */
  readonly alpha: number | null;
}

export interface HpfStep {
  /** 0-based count of calls since construction or `reset()`. */
  step: number;
  loss: FocusedLoss;
  mode: HpfMode;
  levels: LevelStats[];
}

export interface HpfResult {
  /** Scalar loss over all levels, owned by the caller. */
  loss: tf.Scalar;
  levels: LevelStats[];
}

export interface HpfLossOptions {
  /** The detector's normaliser; the summed loss of all levels is divided by it. */
  avgFactor?: number;
  /** 'mean' (default: divide by avgFactor, or by the element count without one) or 'sum'. */
  reduction?: 'mean' | 'sum';
}

/** Positives of one level for `levelFocus`: logits and a same-shape 0/1 mask of the positives. */
export interface FocusInput {
  logits: tf.Tensor;
  positives: tf.Tensor;
}

export interface HpfVarifocalOptions extends HpfLossOptions {
  /** Weight positives by their IoU target (default true, as VFNet). */
  iouWeighted?: boolean;
}

/** Version of `FocusState`; `loadState` rejects any other. */
export const FOCUS_STATE_FORMAT = 1;

/**
 * Everything a `ProgressiveFocus` carries from one call to the next, as plain JSON-able data
 * (`ProgressiveFocus.state()` / `loadState()`): what a training checkpoint needs so that a resumed
 * run picks the same gammas as an uninterrupted one. The options are not part of it (they come
 * from the constructor); `mode`, `statistic` and `momentum` are recorded because the EMA values
 * mean something only under them, and `loadState` refuses a state made under others.
 */
export interface FocusState {
  format: typeof FOCUS_STATE_FORMAT;
  mode: HpfMode;
  statistic: HpfOptions['statistic'];
  momentum: number;
  /** Number of pyramid levels of the calls so far; null before the first call. */
  numLevels: number | null;
  /** Calls so far (the next call's `step`). */
  steps: number;
  /** EMA of the statistic (momentum > 0) as [level, value]; level -1 is the all-level statistic of mode 'global'. */
  smoothed: Array<[number, number]>;
  /** The recorded calls, oldest first (as `history`). */
  history: HpfStep[];
}

const FOCUSED_LOSSES: readonly FocusedLoss[] = ['focal', 'quality-focal', 'varifocal', 'custom'];

/** Validates a `FocusState` field by field; every error names the field. */
function checkFocusState(state: unknown, where: string): FocusState {
  const fail = (field: string, expected: string, got: unknown): never => {
    throw new Error(`${where}: state.${field} must be ${expected}, got ${JSON.stringify(got) ?? String(got)}`);
  };
  if (state === null || typeof state !== 'object' || Array.isArray(state)) fail('', 'an object', state);
  const s = state as Record<string, unknown>;
  rejectUnknownKeys(s, ['format', 'mode', 'statistic', 'momentum', 'numLevels', 'steps', 'smoothed', 'history'], `${where}: state`);
  if (s.format !== FOCUS_STATE_FORMAT) fail('format', `${FOCUS_STATE_FORMAT} (the only FocusState format this version reads)`, s.format);
  const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
  const isReal = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  if (typeof s.mode !== 'string') fail('mode', 'a string', s.mode);
  if (typeof s.statistic !== 'string') fail('statistic', 'a string', s.statistic);
  if (!isReal(s.momentum)) fail('momentum', 'a finite number', s.momentum);
  if (s.numLevels !== null && !(isCount(s.numLevels) && s.numLevels > 0)) fail('numLevels', 'a positive integer or null', s.numLevels);
  if (!isCount(s.steps)) fail('steps', 'an integer >= 0', s.steps);
  const numLevels = s.numLevels as number | null;
  const steps = s.steps as number;
  if (!Array.isArray(s.smoothed)) fail('smoothed', 'an array of [level, value]', s.smoothed);
  const keys = new Set<number>();
  if (s.momentum === 0 && (s.smoothed as unknown[]).length > 0) fail('smoothed', 'empty with momentum 0 (no EMA is kept)', s.smoothed);
  (s.smoothed as unknown[]).forEach((entry, i) => {
    const ok = Array.isArray(entry) && entry.length === 2 && Number.isInteger(entry[0]) && isReal(entry[1]);
    if (!ok) fail(`smoothed[${i}]`, '[level, finite value]', entry);
    const key = (entry as [number, number])[0];
    const valid = s.mode === 'global' ? key === -1 : s.mode === 'hierarchical' && key >= 0 && (numLevels === null || key < numLevels);
    if (!valid) fail(`smoothed[${i}][0]`, s.mode === 'global' ? '-1 (the all-level key of mode global)' : `a level in [0, ${numLevels ?? 'numLevels'}) (mode ${String(s.mode)})`, key);
    if (keys.has(key)) fail(`smoothed[${i}][0]`, 'a level not listed before', key);
    keys.add(key);
  });
  if (!Array.isArray(s.history)) fail('history', 'an array of HpfStep', s.history);
  let previous = -1;
  (s.history as unknown[]).forEach((record, i) => {
    const at = `history[${i}]`;
    if (record === null || typeof record !== 'object') fail(at, 'an HpfStep object', record);
    const r = record as Record<string, unknown>;
    if (!isCount(r.step) || r.step <= previous || r.step >= steps) fail(`${at}.step`, `an increasing integer below steps (${steps})`, r.step);
    previous = r.step as number;
    if (!FOCUSED_LOSSES.includes(r.loss as FocusedLoss)) fail(`${at}.loss`, `one of ${FOCUSED_LOSSES.join(', ')}`, r.loss);
    if (typeof r.mode !== 'string') fail(`${at}.mode`, 'a string', r.mode);
    if (!Array.isArray(r.levels) || (numLevels !== null && r.levels.length !== numLevels)) {
      fail(`${at}.levels`, `an array of ${numLevels ?? 'numLevels'} LevelStats`, Array.isArray(r.levels) ? `${r.levels.length} entries` : r.levels);
    }
    (r.levels as unknown[]).forEach((level, l) => {
      const lat = `${at}.levels[${l}]`;
      const v = (level ?? {}) as Record<string, unknown>;
      const orNull = (x: unknown) => x === null || isReal(x);
      if (v.level !== l) fail(`${lat}.level`, String(l), v.level);
      if (!isCount(v.numPositives)) fail(`${lat}.numPositives`, 'an integer >= 0', v.numPositives);
      if (!orNull(v.statistic)) fail(`${lat}.statistic`, 'a finite number or null', v.statistic);
      if (!orNull(v.focusStatistic)) fail(`${lat}.focusStatistic`, 'a finite number or null', v.focusStatistic);
      if (!isReal(v.gamma)) fail(`${lat}.gamma`, 'a finite number', v.gamma);
      if (!orNull(v.alpha)) fail(`${lat}.alpha`, 'a finite number or null', v.alpha);
    });
  });
  return s as unknown as FocusState;
}

const copyStep = (r: HpfStep): HpfStep => ({ step: r.step, loss: r.loss, mode: r.mode, levels: r.levels.map((l) => ({ ...l })) });

/** What the statistic of one level is computed from. */
interface StatisticInputs {
  /** -log sigmoid(z) wherever `mask` is 1 (other entries are masked out). */
  nll: tf.Tensor;
  /** 1 at the counted positives, 0 elsewhere; same shape as `nll`. */
  mask: tf.Tensor;
  /** Scalar number of counted positives. */
  count: tf.Tensor;
}

/**
 * How a variant computes all levels at once, on its inputs concatenated over the levels (rows
 * `sizes[l]` of level l): its statistic first, then its loss for the chosen per-level constants.
 * One set of kernels for all levels instead of one per level: every element is computed by the same
 * float32 ops as the static function's on that level alone, and the sums are taken per level (see
 * `ProgressiveFocus.run`), so delta = 0 still reproduces the static loss bit for bit.
 */
interface FusedWork {
  statistic(): StatisticInputs;
  /** Elementwise weighted loss, rows in level order; `value` gives a per-level constant as a number or a [M, 1] column. */
  loss(value: (perLevel: (level: number) => number) => PriorValue): tf.Tensor;
}

/** Rows of all levels in one tensor (the tensor itself for one level). */
function concatRows(tensors: readonly tf.Tensor[]): tf.Tensor {
  return tensors.length === 1 ? tensors[0]! : tf.concat(tensors as tf.Tensor[], 0);
}

/** Per-prior weights of all levels; levels without weights get ones (what an absent weight means). */
function concatWeights(levels: ReadonlyArray<readonly [tf.Tensor1D | undefined, number]>): tf.Tensor1D | undefined {
  if (levels.every(([w]) => w === undefined)) return undefined;
  return concatRows(levels.map(([w, n]) => w ?? tf.ones([n]))) as tf.Tensor1D;
}

/** LabelTargets of all levels as one level. */
function concatLabelTargets(levels: readonly LabelTargets[]): LabelTargets {
  return {
    logits: concatRows(levels.map((l) => l.logits)) as tf.Tensor2D,
    labels: concatRows(levels.map((l) => l.labels)) as tf.Tensor1D,
    labelWeights: concatWeights(levels.map((l) => [l.labelWeights, l.logits.shape[0]] as const)),
  };
}

/** Statistic of a label-based level: O(N) work on each prior's own-class logit. */
function labelStatistic(input: LabelTargets): StatisticInputs {
  const own = ownClassLogits(input.logits, countedLabelsOf(input).countedLabels);
  return { nll: tf.softplus(tf.neg(own.logits)), mask: own.positives, count: tf.sum(own.positives) };
}

/**
 * Statistic of a varifocal level: the prior's positive class is the argmax of its IoU target
 * (VFNet gives a positive prior one class), counted where that target is > 0 and the weight > 0.
 */
function varifocalStatistic(input: VarifocalTargets): StatisticInputs {
  const { logits, targets, weights } = input;
  const n = logits.shape[0];
  let positive = tf.greater(tf.max(targets, 1), 0);
  if (weights !== undefined) positive = tf.logicalAnd(positive, tf.greater(weights, 0));
  const labels = tf.where(positive, tf.cast(tf.argMax(targets, 1), 'int32'), tf.fill([n], -1, 'int32')) as tf.Tensor1D;
  const own = ownClassLogits(logits, labels);
  return { nll: tf.softplus(tf.neg(own.logits)), mask: own.positives, count: tf.sum(own.positives) };
}

/**
 * Hierarchical Progressive Focus (docs/architecture.md section 1) over the levels of an FPN.
 *
 * Each call takes the per-level inputs of one iteration and:
 * 1. counts the positives P_l (foreground label, weight > 0) of each level,
 * 2. computes s_l = mean over P_l of -log sigmoid(z) (or -log of the mean sigmoid), reading the
 *    per-level sums back with one `dataSync()` of a small [levels, 3] tensor per call (the call's
 *    only sync), so gamma_l and alpha_l are plain numbers and the statistic carries no gradient,
 * 3. sets gamma_l = clip(s_l, gamma0 - delta, gamma0 + delta) (gamma0 for an empty level),
 *    alpha_l = w / gamma_l,
 * 4. returns the sum of the level losses divided by `avgFactor`, plus the per-level numbers, which
 *    it also appends to a bounded `history`.
 *
 * Mode 'global' uses one statistic over all levels; mode 'off' uses gamma0 (and w / gamma0) and is
 * op for op the static loss. The statistic is still measured in mode 'off' so baselines can be plotted.
 */
export class ProgressiveFocus {
  readonly options: Readonly<HpfOptions>;
  private records: HpfStep[] = [];
  private steps = 0;
  private readonly smoothed = new Map<number, number>();
  /** Levels of the calls so far (null before the first); a call with another count is refused after `loadState`. */
  private numLevels: number | null = null;
  /** Set by `loadState`: the next calls must have the loaded number of levels. */
  private loaded = false;

  constructor(options: Partial<HpfOptions> = {}) {
    this.options = Object.freeze(validateHpfOptions(options, 'ProgressiveFocus'));
  }

  /** A copy of the recorded iterations, oldest first (at most `historyLimit`). */
  get history(): HpfStep[] {
    return this.records.slice();
  }

  /** Clears the history, the step counter and the EMA state. */
  reset(): void {
    this.records = [];
    this.steps = 0;
    this.smoothed.clear();
    this.numLevels = null;
    this.loaded = false;
  }

  /**
   * A snapshot of the state carried between calls (step counter, EMA of the statistic, history),
   * plain JSON-able data that shares nothing with this object. `loadState` on a ProgressiveFocus
   * with the same options continues exactly where this one is.
   */
  state(): FocusState {
    const { mode, statistic, momentum } = this.options;
    return {
      format: FOCUS_STATE_FORMAT,
      mode,
      statistic,
      momentum,
      numLevels: this.numLevels,
      steps: this.steps,
      smoothed: [...this.smoothed.entries()],
      history: this.records.map(copyStep),
    };
  }

  /**
   * Replaces this object's state by `state` (from `state()`, possibly through JSON). Throws, naming
   * the field, on a malformed state, another format version, or one made under another mode,
   * statistic or momentum; the next call must have the state's number of levels. A history longer
   * than this object's `historyLimit` keeps its newest entries. Nothing changes when it throws.
   */
  loadState(state: FocusState): void {
    const where = 'ProgressiveFocus.loadState';
    const s = checkFocusState(state, where);
    const { mode, statistic, momentum, historyLimit } = this.options;
    const mismatch = (field: string, theirs: unknown, ours: unknown): never => {
      throw new Error(`${where}: state.${field} is ${JSON.stringify(theirs)} but this ProgressiveFocus has ${field} ${JSON.stringify(ours)}`);
    };
    if (s.mode !== mode) mismatch('mode', s.mode, mode);
    if (s.statistic !== statistic) mismatch('statistic', s.statistic, statistic);
    if (s.momentum !== momentum) mismatch('momentum', s.momentum, momentum);
    this.steps = s.steps;
    this.numLevels = s.numLevels;
    this.loaded = s.numLevels !== null;
    this.smoothed.clear();
    for (const [key, value] of s.smoothed) this.smoothed.set(key, value);
    this.records = s.history.slice(Math.max(0, s.history.length - historyLimit)).map((r) => {
      const copy = copyStep(r);
      copy.levels = copy.levels.map((l) => Object.freeze(l));
      return Object.freeze(copy);
    });
  }

  /** Sigmoid focal loss with per-level gamma_l, alpha_l. */
  focalLoss(levels: readonly LabelTargets[], options: HpfLossOptions = {}): HpfResult {
    const where = 'ProgressiveFocus.focalLoss';
    this.checkLevels(levels, where, (level, at) => checkLabelTargets(level, at));
    return this.run('focal', levels, options, where, (stats) => {
      const input = concatLabelTargets(levels);
      return {
        statistic: () => labelStatistic(input),
        loss: (value) => {
          const c = stats().map((s) => focalCoefficients(s.gamma, s.alpha ?? 0));
          const coefficients = {
            negGamma: value((l) => c[l]!.negGamma),
            alphaSlope: value((l) => c[l]!.alphaSlope),
            alphaBase: value((l) => c[l]!.alphaBase),
          };
          return focalFromTerms(focalTerms(input, input.logits.shape[1]), coefficients);
        },
      };
    });
  }

  /** Quality focal loss with per-level beta_l (gamma0 and delta act on beta; w is unused). */
  qualityFocalLoss(levels: readonly QualityTargets[], options: HpfLossOptions = {}): HpfResult {
    const where = 'ProgressiveFocus.qualityFocalLoss';
    this.checkLevels(levels, where, (level, at) => checkQualityTargets(level, at));
    return this.run('quality-focal', levels, options, where, (stats) => {
      const input: QualityTargets = { ...concatLabelTargets(levels), scores: concatRows(levels.map((l) => l.scores)) as tf.Tensor1D };
      return {
        statistic: () => labelStatistic(input),
        loss: (value) => {
          const s = stats();
          return qualityFromTerms(qualityTerms(input, input.logits.shape[1]), input.logits, value((l) => s[l]!.gamma));
        },
      };
    });
  }

  /** Varifocal loss with per-level negative-term gamma_l and alpha_l = w / gamma_l. */
  varifocalLoss(levels: readonly VarifocalTargets[], options: HpfVarifocalOptions = {}): HpfResult {
    const where = 'ProgressiveFocus.varifocalLoss';
    this.checkLevels(levels, where, (level, at) => checkVarifocalTargets(level, at));
    const iouWeighted = options.iouWeighted ?? true;
    return this.run('varifocal', levels, options, where, (stats) => {
      const input: VarifocalTargets = {
        logits: concatRows(levels.map((l) => l.logits)) as tf.Tensor2D,
        targets: concatRows(levels.map((l) => l.targets)) as tf.Tensor2D,
        weights: concatWeights(levels.map((l) => [l.weights, l.logits.shape[0]] as const)),
      };
      return {
        statistic: () => varifocalStatistic(input),
        loss: (value) => {
          const s = stats();
          return varifocalFromTerms(varifocalTerms(input), input, value((l) => -s[l]!.gamma), value((l) => s[l]!.alpha ?? 0), iouWeighted);
        },
      };
    });
  }

  /**
   * Only the focus: per-level statistic, gamma_l and alpha_l (one `dataSync()`), recorded in the
   * history like a loss call, for a loss this class does not build (e.g. FreeAnchor's negative bag
   * loss or PAA's focal loss): the caller decides which logits count as positives and builds its loss
   * with the returned plain numbers. Nothing here is differentiated; no tensor is returned.
   */
  levelFocus(levels: readonly FocusInput[], options: { withAlpha?: boolean } = {}): LevelStats[] {
    const where = 'ProgressiveFocus.levelFocus';
    this.checkLevels(levels, where, (level, at) => {
      if (level.logits.shape.join() !== level.positives.shape.join()) {
        throw new Error(`${at}: positives must have the shape of logits [${level.logits.shape.join(', ')}], got [${level.positives.shape.join(', ')}]`);
      }
    });
    rejectUnknownKeys(options, ['withAlpha'], where);
    const withAlpha = options.withAlpha ?? true;
    this.checkAlpha(withAlpha, where);
    let stats: LevelStats[] = [];
    tf.tidy(() => {
      stats = this.measure(
        levels.map((level) => () => {
          const mask = tf.cast(level.positives, 'float32');
          return { nll: tf.softplus(tf.neg(level.logits)), mask, count: tf.sum(mask) };
        }),
        withAlpha,
      );
    });
    this.record('custom', stats);
    return stats;
  }

  /**
   * `balancesNegatives`: the loss weighs negatives by 1 - alpha (the focal loss, and the focal
   * losses FreeAnchor and PAA build from levelFocus); the varifocal loss weighs them by alpha alone,
   * so alpha > 1 is only a heavier negative term there.
   */
  private checkAlpha(hasAlpha: boolean, where: string, balancesNegatives = hasAlpha): void {
    const { mode, gamma0, delta, w } = this.options;
    const lowest = mode === 'off' ? gamma0 : gamma0 - delta;
    if (hasAlpha && lowest <= 0) {
      throw new Error(`${where}: alpha = w / gamma needs gamma > 0, but gamma can reach ${lowest} (gamma0 = ${gamma0}, delta = ${delta})`);
    }
    // alpha weighs positives and 1 - alpha negatives: alpha > 1 gives negatives a negative weight
    // and the loss can go below zero. gamma's lowest value bounds alpha from above.
    if (balancesNegatives && w > lowest) {
      throw new Error(
        `${where}: alpha = w / gamma must stay <= 1, which needs ${mode === 'off' ? 'gamma0' : 'gamma0 - delta'} >= w; ` +
          `got gamma0 = ${gamma0}, delta = ${mode === 'off' ? 0 : delta}, w = ${w} (lowest gamma ${lowest} < w)`,
      );
    }
  }

  /** Statistic sums of every level, read back with the call's one `dataSync()`, turned into stats. */
  private measure(statistics: ReadonlyArray<() => StatisticInputs>, hasAlpha: boolean): LevelStats[] {
    const sums = statistics.map((statistic) => tf.tidy(() => this.positiveSums(statistic())));
    return this.focus(tf.stack(sums).dataSync(), statistics.length, hasAlpha);
  }

  private record(kind: FocusedLoss, levels: LevelStats[]): void {
    this.numLevels = levels.length;
    this.records.push({ step: this.steps++, loss: kind, mode: this.options.mode, levels });
    while (this.records.length > this.options.historyLimit) this.records.shift();
  }

  private checkLevels<T>(levels: readonly T[], where: string, check: (level: T, at: string) => void): void {
    if (!Array.isArray(levels) || levels.length === 0) throw new Error(`${where}: levels must be a non-empty array`);
    if (this.loaded && levels.length !== this.numLevels) {
      throw new Error(`${where}: got ${levels.length} levels, but the state loaded by loadState is for ${this.numLevels}`);
    }
    levels.forEach((level, index) => check(level, `${where} level ${index}`));
  }

  private run<T extends { logits: tf.Tensor2D }>(
    kind: FocusedLoss,
    inputs: readonly T[],
    options: HpfLossOptions,
    where: string,
    prepare: (stats: () => LevelStats[]) => FusedWork,
  ): HpfResult {
    rejectUnknownKeys(options, kind === 'varifocal' ? ['avgFactor', 'reduction', 'iouWeighted'] : ['avgFactor', 'reduction'], where);
    const reduction = options.reduction ?? 'mean';
    if (reduction !== 'mean' && reduction !== 'sum') {
      throw new Error(`${where}: reduction must be 'mean' or 'sum' (use the functional losses for 'none'), got '${String(reduction)}'`);
    }
    const { avgFactor } = options;
    if (avgFactor !== undefined) {
      expectNumber(avgFactor, 'avgFactor', where, 0, true);
      if (reduction === 'sum') throw new Error(`${where}: avgFactor cannot be used with reduction 'sum'`);
    }
    const hasAlpha = kind !== 'quality-focal';
    this.checkAlpha(hasAlpha, where, kind === 'focal');

    const classes = inputs[0]!.logits.shape[1];
    inputs.forEach((input, l) => {
      // the levels are computed as one [sum N_l, C] tensor
      if (input.logits.shape[1] !== classes) {
        throw new Error(`${where} level ${l}: logits must have the ${classes} classes of level 0, got [${input.logits.shape.join(', ')}]`);
      }
    });
    const sizes = inputs.map((input) => input.logits.shape[0]);
    const total = sizes.reduce((a, b) => a + b, 0);
    let levels: LevelStats[] = [];
    const loss = tf.tidy(() => {
      const work = prepare(() => levels);
      tf.tidy(() => {
        levels = this.focus(this.fusedSums(work.statistic(), sizes).dataSync(), sizes.length, hasAlpha);
      });
      // A per-level constant: a number when all levels share it (the static loss's own ops), else a
      // [M, 1] column holding each level's float32 value on its rows.
      const value = (perLevel: (level: number) => number): PriorValue => {
        const values = sizes.map((_, l) => perLevel(l));
        if (values.every((v) => v === values[0])) return values[0]!;
        const column = new Float32Array(total);
        let offset = 0;
        sizes.forEach((n, l) => column.fill(values[l]!, offset, (offset += n)));
        return tf.tensor2d(column, [total, 1]);
      };
      const elementwise = work.loss(value);
      // Per prior, then per level, then over levels: each level's sum is the static loss's
      // (`sumLoss` on that level alone), and only the small [M] vector is split, not [M, C].
      const perPrior = elementwise.rank === 2 ? tf.sum(elementwise, 1) : elementwise;
      const sums = sizes.length === 1 ? [tf.sum(perPrior)] : tf.split(perPrior, sizes, 0).map((part) => tf.sum(part));
      const sum = sums.length === 1 ? sums[0]! : tf.addN(sums);
      if (reduction === 'sum') return sum;
      return tf.div(sum, avgFactor ?? elementwise.size);
    }) as tf.Scalar;

    this.record(kind, levels);
    return { loss, levels };
  }

  /** [levels, 3]: per level [sum of nll over positives, count, sum of sigmoid(z) over positives (only if needed)]. */
  private fusedSums(work: StatisticInputs, sizes: readonly number[]): tf.Tensor2D {
    const rows = [tf.mul(work.nll, work.mask), work.mask];
    rows.push(this.options.statistic === 'nll-of-mean' ? tf.mul(tf.exp(tf.neg(work.nll)), work.mask) : tf.zerosLike(work.mask));
    const stacked = tf.stack(rows); // [3, M]
    if (sizes.length === 1) return tf.reshape(tf.sum(stacked, 1), [1, 3]);
    // Each level's sums over its own contiguous elements, in order: the per-level tf.sum's result.
    return tf.stack(tf.split(stacked, sizes as number[], 1).map((part) => tf.sum(part, 1))) as tf.Tensor2D;
  }

  /** [sum of nll over positives, count, sum of sigmoid(z) over positives (only if needed)]. */
  private positiveSums(work: StatisticInputs): tf.Tensor1D {
    const nllSum = tf.sum(tf.mul(work.nll, work.mask));
    const probabilitySum = this.options.statistic === 'nll-of-mean' ? tf.sum(tf.mul(tf.exp(tf.neg(work.nll)), work.mask)) : tf.scalar(0);
    return tf.stack([nllSum, work.count, probabilitySum]) as tf.Tensor1D;
  }

  private focus(sums: ArrayLike<number>, numLevels: number, hasAlpha: boolean): LevelStats[] {
    const { mode, statistic, gamma0, delta, w } = this.options;
    const statisticOf = (nll: number, count: number, probability: number): number | null => {
      if (count <= 0) return null;
      return statistic === 'mean-nll' ? nll / count : -Math.log(probability / count);
    };
    const raw: Array<number | null> = [];
    const totals = [0, 0, 0];
    for (let l = 0; l < numLevels; l++) {
      const row = [sums[3 * l]!, sums[3 * l + 1]!, sums[3 * l + 2]!];
      raw.push(statisticOf(row[0]!, row[1]!, row[2]!));
      row.forEach((v, i) => (totals[i]! += v));
    }
    const global = mode === 'global' ? this.smooth(-1, statisticOf(totals[0]!, totals[1]!, totals[2]!)) : null;
    return raw.map((s, level) => {
      const focusStatistic = mode === 'off' ? null : mode === 'global' ? global : this.smooth(level, s);
      const gamma = focusStatistic === null ? gamma0 : Math.min(Math.max(focusStatistic, gamma0 - delta), gamma0 + delta);
      // frozen: the same objects are returned to the caller and kept in the history
      return Object.freeze({
        level,
        numPositives: Math.round(sums[3 * level + 1]!),
        statistic: s,
        focusStatistic,
        gamma,
        alpha: hasAlpha ? w / gamma : null,
      });
    });
  }

  /** EMA of a statistic across calls; an empty level keeps its state and falls back to gamma0. */
  private smooth(key: number, value: number | null): number | null {
    const { momentum } = this.options;
    if (value === null || momentum === 0) return value;
    const previous = this.smoothed.get(key);
    const next = previous === undefined ? value : momentum * previous + (1 - momentum) * value;
    this.smoothed.set(key, next);
    return next;
  }
}
