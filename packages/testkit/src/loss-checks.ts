import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import type { DetectorLoss, DetectorStats, DetectorTarget } from '@hpf/dense';

/**
 * The adapters' shared small detector: a 64 x 64 input runs in well under a second on the cpu
 * backend. Spread it and override what an adapter needs (`{ ...SMALL_DETECTOR, seed: 5 }`).
 */
export const SMALL_DETECTOR = { numClasses: 3, backbone: 'resnet10-mini', neckChannels: 32, featChannels: 32, stackedConvs: 1, seed: 7 } as const;

/** Deterministic numbers in [0, 1) (the 32-bit LCG of Numerical Recipes), for inputs and logits. */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

export interface LossBatch {
  /** [2, 64, 64, 3], the caller disposes it. */
  images: tf.Tensor4D;
  targets: DetectorTarget[];
}

/**
 * Two random 64 x 64 images: image 0 holds boxes [4, 6, 30, 40] (class 0) and [30, 30, 60, 58]
 * (class 2), image 1 holds `secondBox` (class 1). Every adapter finds positives on several levels.
 */
export function lossBatch(seed = 3, secondBox: readonly [number, number, number, number] = [10, 12, 22, 20]): LossBatch {
  const rand = lcg(seed);
  const images = tf.tensor4d(Float32Array.from({ length: 2 * 64 * 64 * 3 }, () => rand()), [2, 64, 64, 3]);
  const targets: DetectorTarget[] = [
    { boxes: new Float32Array([4, 6, 30, 40, 30, 30, 60, 58]), labels: new Int32Array([0, 2]), ignoreBoxes: new Float32Array(0) },
    { boxes: Float32Array.from(secondBox), labels: new Int32Array([1]), ignoreBoxes: new Float32Array(0) },
  ];
  return { images, targets };
}

/** What the loss checks need of a detector (every adapter's factory result has it). */
export interface LossDetector {
  computeLoss(images: tf.Tensor4D, targets: readonly DetectorTarget[]): DetectorLoss;
  dispose(): void;
}

/** The `hpf` settings the checks build detectors with. */
export type HpfSetting = boolean | { delta: number };

/** `[total, ...terms]` as numbers; a missing term is an error naming it, not a silent NaN. */
export function lossValues(out: DetectorLoss, terms: readonly string[]): number[] {
  return [out.total, ...terms.map((t) => out.losses[t] ?? fail(`no loss term '${t}' (has ${Object.keys(out.losses).join(', ')})`))].map((t) => t.dataSync()[0]!);
}

export function disposeLoss(...outs: DetectorLoss[]): void {
  for (const out of outs) tf.dispose([out.total, ...Object.values(out.losses)]);
}

function fail(message: string): never {
  throw new Error(message);
}

/** The focusing parameters the detector as published uses on every level (no HPF). */
export interface StaticFocus {
  gamma: number;
  /** null for quality focal loss (no alpha). */
  alpha: number | null;
  /** Compare alpha to this many digits instead of exactly (w / gamma0 can miss alpha0 by an ulp). */
  alphaDigits?: number;
}

/** Every level reports exactly the static focus. */
export function expectStaticLevels(stats: DetectorStats, focus: StaticFocus): void {
  for (const level of stats.levels) {
    if (focus.alphaDigits === undefined || focus.alpha === null) expect([level.gamma, level.alpha]).toEqual([focus.gamma, focus.alpha]);
    else {
      expect(level.gamma).toBe(focus.gamma);
      expect(level.alpha).toBeCloseTo(focus.alpha, focus.alphaDigits);
    }
  }
}

export interface IdentityCheck<D extends LossDetector = LossDetector> {
  /** Named loss terms compared besides the total. */
  terms: readonly string[];
  /** Exact positive count expected of both runs; by default it must be > 0. */
  numPositives?: number;
  /** Runs between creating the detector and computing the loss (e.g. TOOD's setEpoch). */
  prepare?: (det: D) => void;
  /** Levels both runs must report, with the static focus (delta 0 clips gamma to gamma0). */
  levels?: { count: number; focus: StaticFocus };
  /** Adapter-specific assertions on each run's output before it is disposed. */
  also?: (out: DetectorLoss, hpf: HpfSetting) => void;
}

/**
 * docs/architecture.md section 1: with delta = 0 HPF must equal the baseline loss. Builds the detector with
 * `hpf: false` and `hpf: { delta: 0 }` and requires the total and every term to agree within 1e-6.
 */
export function expectDeltaZeroMatchesBaseline<D extends LossDetector>(create: (hpf: HpfSetting) => D, batch: LossBatch, check: IdentityCheck<D>): void {
  const runs: number[][] = [];
  for (const hpf of [false, { delta: 0 }] as const) {
    const det = create(hpf);
    check.prepare?.(det);
    const out = det.computeLoss(batch.images, batch.targets);
    runs.push(lossValues(out, check.terms));
    if (check.numPositives === undefined) expect(out.stats.numPositives).toBeGreaterThan(0);
    else expect(out.stats.numPositives).toBe(check.numPositives);
    if (check.levels) {
      expect(out.stats.levels).toHaveLength(check.levels.count);
      expect(out.stats.levels.reduce((s, l) => s + l.numPositives, 0)).toBe(out.stats.numPositives);
      expectStaticLevels(out.stats, check.levels.focus);
    }
    check.also?.(out, hpf);
    disposeLoss(out);
    det.dispose();
  }
  expect(runs[0]).toHaveLength(check.terms.length + 1);
  runs[0]!.forEach((v, i) => expect(Math.abs(v - runs[1]![i]!), i === 0 ? 'total' : check.terms[i - 1]).toBeLessThan(1e-6));
}

export interface HpfOnOffCheck<D extends LossDetector = LossDetector> {
  /** Terms that must not move when HPF is switched on (6 digits): everything but classification. */
  unchanged: readonly string[];
  /** Pyramid levels reported (default 5). */
  levels?: number;
  /** Sum of the levels' positives; by default the batch's numPositives. */
  levelPositives?: number;
  /** gamma0 and delta of the HPF run: gamma_l must lie in [gamma0 - delta, gamma0 + delta]. */
  gamma0: number;
  delta?: number;
  /** alpha_l expected for gamma_l (12 digits); null: the level must report no alpha. */
  alpha: (gamma: number) => number | null;
  /**
   * How a level with positives relates to its statistic: 'positive' (s_l > 0), 'clipped'
   * (gamma_l = clip(s_l), 12 digits) or 'unchecked'. A level without positives always gets gamma0.
   */
  statistic: 'positive' | 'clipped' | 'unchecked';
  /** The static focus the `hpf: false` run reports on every level; null: not checked. */
  baseline: StaticFocus | null;
  /** total = sum of the terms (5 digits) in the HPF run (default true). */
  totalIsSum?: boolean;
  prepare?: (det: D) => void;
  /** Adapter-specific assertions on both outputs (and detectors) before they are disposed. */
  also?: (off: DetectorLoss, on: DetectorLoss, detectors: { off: D; on: D }) => void;
}

/** Per-level HPF stats: count, positives, gamma range, alpha and statistic (see HpfOnOffCheck). */
export function expectHpfLevels(stats: DetectorStats, check: Omit<HpfOnOffCheck<never>, 'unchanged' | 'baseline' | 'totalIsSum' | 'prepare' | 'also'>): void {
  const delta = check.delta ?? 0.5;
  expect(stats.levels).toHaveLength(check.levels ?? 5);
  expect(stats.levels.reduce((s, l) => s + l.numPositives, 0)).toBe(check.levelPositives ?? stats.numPositives);
  for (const level of stats.levels) {
    expect(level.gamma).toBeGreaterThanOrEqual(check.gamma0 - delta);
    expect(level.gamma).toBeLessThanOrEqual(check.gamma0 + delta);
    const alpha = check.alpha(level.gamma);
    if (alpha === null) expect(level.alpha).toBeNull();
    else expect(level.alpha).toBeCloseTo(alpha, 12);
    if (level.numPositives === 0) expect(level.gamma).toBe(check.gamma0);
    else if (check.statistic === 'positive') expect(level.statistic).toBeGreaterThan(0);
    else if (check.statistic === 'clipped') expect(level.gamma).toBeCloseTo(Math.min(Math.max(level.statistic!, check.gamma0 - delta), check.gamma0 + delta), 12);
  }
}

/**
 * docs/architecture.md section 2: `hpf: true` swaps only the classification loss's focusing parameters. Runs
 * the detector with `hpf: false` and `hpf: true` on the same weights (same seed) and batch.
 */
export function expectHpfChangesOnlyClassification<D extends LossDetector>(create: (hpf: HpfSetting) => D, batch: LossBatch, check: HpfOnOffCheck<D>): void {
  const off = create(false);
  const on = create(true);
  check.prepare?.(off);
  check.prepare?.(on);
  const a = off.computeLoss(batch.images, batch.targets);
  const b = on.computeLoss(batch.images, batch.targets);
  const [, ...before] = lossValues(a, check.unchanged);
  const [, ...after] = lossValues(b, check.unchanged);
  after.forEach((v, i) => expect(v, check.unchanged[i]).toBeCloseTo(before[i]!, 6));
  expectHpfLevels(b.stats, check);
  if (check.baseline) expectStaticLevels(a.stats, check.baseline);
  if (check.totalIsSum ?? true) {
    const sum = Object.values(b.losses).reduce((s, t) => s + t.dataSync()[0]!, 0);
    expect(b.total.dataSync()[0]).toBeCloseTo(sum, 5);
  }
  check.also?.(a, b, { off, on });
  disposeLoss(a, b);
  off.dispose();
  on.dispose();
}

/** What the gradient check needs: the head's variables. */
export interface GradDetector extends LossDetector {
  readonly model: { readonly head: { trainableVariables(): tf.Variable[] } };
}

/**
 * `steps` gradient evaluations of the total loss over the head's variables (conv filter gradients
 * of the whole network take minutes on the cpu backend; the overfit tests train everything on
 * wasm): every variable gets a finite gradient, at least one is non-zero, and after the first step
 * (which fills the prior cache) the tensor count stays flat.
 */
export function expectFiniteHeadGradients(det: GradDetector, batch: LossBatch, options: { steps?: number; beforeStep?: (step: number) => void } = {}): void {
  const vars = det.model.head.trainableVariables();
  const counts: number[] = [];
  for (let i = 0; i < (options.steps ?? 2); i++) {
    options.beforeStep?.(i);
    // variableGrads keeps only the value and the gradients: the loss terms die with its scope.
    const { value, grads } = tf.variableGrads(() => det.computeLoss(batch.images, batch.targets).total, vars);
    expect(Object.keys(grads).length).toBe(vars.length);
    const norms = tf.tidy(() => Object.values(grads).map((g) => tf.sum(tf.abs(g)).dataSync()[0]!));
    for (const n of norms) expect(Number.isFinite(n)).toBe(true);
    expect(Math.max(...norms)).toBeGreaterThan(0);
    tf.dispose([value, ...Object.values(grads)]);
    counts.push(tf.memory().numTensors);
  }
  for (let i = 2; i < counts.length; i++) expect(counts[i]).toBe(counts[1]);
  expect(counts[1]).toBe(counts[0]);
}

/**
 * The shared target validation: a label outside [0, numClasses) is named with its index, and a
 * target count that differs from the batch size is an error.
 */
export function expectTargetErrors(det: LossDetector, numClasses: number): void {
  const images = tf.zeros([1, 64, 64, 3]) as tf.Tensor4D;
  try {
    const bad = [{ boxes: new Float32Array([0, 0, 4, 4]), labels: new Int32Array([numClasses]), ignoreBoxes: new Float32Array(0) }];
    expect(() => det.computeLoss(images, bad)).toThrow(new RegExp(`targets\\[0\\]\\.labels\\[0\\] = ${numClasses}`));
    expect(() => det.computeLoss(images, [])).toThrow(/expected 1 targets/);
  } finally {
    images.dispose();
  }
}
