import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ProgressiveFocus,
  qualityFocalLoss,
  sigmoidFocalLoss,
  varifocalLoss,
  type HpfOptions,
  type LabelTargets,
} from '../src/index.js';
import { expectAllFinite, expectClose } from './support/assert.js';
import { useCpuBackend } from './support/backend.js';
import {
  clip,
  finiteDifferences,
  focalRef,
  qflRef,
  random,
  reshape,
  statisticRef,
  sum,
  sumMatrix,
  vflRef,
  type Matrix,
} from './support/reference.js';

beforeAll(useCpuBackend);

const C = 3;

interface PlainLevel {
  logits: number[]; // N * C
  labels: number[];
  weights: number[];
}

/** A level with every kind of prior: foreground, background (C), ignore (-1) and weight 0. */
function randomLevel(seed: number, n: number, shift = 0): PlainLevel {
  const rand = random(seed);
  const kinds = [0, 1, 2, C, C, -1];
  const labels = Array.from({ length: n }, (_, i) => kinds[(i * 7 + seed) % kinds.length]!);
  const weights = labels.map((_, i) => (i % 5 === 4 ? 0 : i % 3 === 1 ? 0.5 : 1));
  return { logits: Array.from({ length: n * C }, () => 10 * rand() - 5 + shift), labels, weights };
}

const toTensors = (level: PlainLevel): LabelTargets => ({
  logits: tf.tensor2d(level.logits, [level.labels.length, C]),
  labels: tf.tensor1d(level.labels, 'int32'),
  labelWeights: tf.tensor1d(level.weights),
});

const disposeLevels = (levels: LabelTargets[]) => tf.dispose(levels.flatMap((l) => [l.logits, l.labels, l.labelWeights!]));

/** Logits of the counted positives (foreground label, weight > 0) of a level. */
const positiveLogits = (level: PlainLevel, logits = level.logits): number[] =>
  level.labels.flatMap((label, i) => (label >= 0 && label < C && level.weights[i]! > 0 ? [logits[i * C + label]!] : []));

/** Float64 HPF: per-level gammas, then the focal loss of every level with its own gamma and alpha. */
function hpfFocalRef(levels: PlainLevel[], options: HpfOptions, avgFactor: number, logitsOverride?: number[][]) {
  const logitsOf = (l: number) => logitsOverride?.[l] ?? levels[l]!.logits;
  const stats = levels.map((level, l) => statisticRef(positiveLogits(level, logitsOf(l)), options.statistic));
  const global = statisticRef(levels.flatMap((level, l) => positiveLogits(level, logitsOf(l))), options.statistic);
  const gammas = stats.map((s) => {
    const used = options.mode === 'off' ? null : options.mode === 'global' ? global : s;
    return used === null ? options.gamma0 : clip(used, options.gamma0 - options.delta, options.gamma0 + options.delta);
  });
  const loss =
    sum(levels.map((level, l) => sumMatrix(focalRef(reshape(logitsOf(l), level.labels.length, C), level.labels, level.weights, gammas[l]!, options.w / gammas[l]!)))) /
    avgFactor;
  return { stats, gammas, loss };
}

// delta 1.9 keeps every level's statistic inside [gamma0 - delta, gamma0 + delta]: gamma_l = s_l;
// w = 0.1 = gamma0 - delta keeps alpha = w / gamma <= 1, as the focal loss requires.
const OPTIONS: HpfOptions = { mode: 'hierarchical', gamma0: 2, delta: 1.9, w: 0.1, statistic: 'mean-nll', momentum: 0, historyLimit: 100 };

describe('ProgressiveFocus.focalLoss', () => {
  const plain = [randomLevel(1, 12, -1), randomLevel(2, 8, 1), randomLevel(3, 5, 0)];

  for (const statistic of ['mean-nll', 'nll-of-mean'] as const) {
    for (const mode of ['hierarchical', 'global', 'off'] as const) {
      it(`matches the float64 reference (${mode}, ${statistic}): statistic, gamma, alpha, positives, loss`, () => {
        const options = { ...OPTIONS, mode, statistic };
        const levels = plain.map(toTensors);
        const { loss, levels: stats } = new ProgressiveFocus(options).focalLoss(levels, { avgFactor: 7 });
        const ref = hpfFocalRef(plain, options, 7);
        expectClose(stats.map((s) => s.statistic!), ref.stats.map((s) => s!));
        expectClose(stats.map((s) => s.gamma), ref.gammas);
        expectClose(stats.map((s) => s.alpha!), ref.gammas.map((g) => 0.1 / g));
        expect(stats.map((s) => s.numPositives)).toEqual(plain.map((p) => positiveLogits(p).length));
        expect(stats.map((s) => s.level)).toEqual([0, 1, 2]);
        expectClose(loss.dataSync(), ref.loss);
        if (mode === 'hierarchical') expect(new Set(ref.gammas).size).toBe(3); // the levels really differ
        if (mode !== 'hierarchical') expect(new Set(stats.map((s) => s.gamma)).size).toBe(1);
        loss.dispose();
        disposeLevels(levels);
      });
    }
  }

  it('has gradients of the loss with gamma held fixed: the statistic carries no gradient', () => {
    const levels = plain.map(toTensors);
    const focus = new ProgressiveFocus(OPTIONS);
    const grads = tf.grads((...logits: tf.Tensor[]) =>
      focus.focalLoss(levels.map((l, i) => ({ ...l, logits: logits[i] as tf.Tensor2D })), { avgFactor: 3 }).loss,
    )(levels.map((l) => l.logits));
    const got = grads.flatMap((g) => Array.from(g.dataSync()));
    const { gammas } = hpfFocalRef(plain, OPTIONS, 3);
    const sizes = plain.map((p) => p.logits.length);
    const split = (x: number[]) => sizes.map((_, l) => x.slice(sum(sizes.slice(0, l)), sum(sizes.slice(0, l + 1))));
    const fixedGamma = (x: number[]) =>
      sum(split(x).map((z, l) => sumMatrix(focalRef(reshape(z, plain[l]!.labels.length, C), plain[l]!.labels, plain[l]!.weights, gammas[l]!, OPTIONS.w / gammas[l]!)))) / 3;
    const x = plain.flatMap((p) => p.logits);
    expectClose(got, finiteDifferences(fixedGamma, x), 1e-4, 1e-7);
    // differentiating through the statistic would give another gradient at the positives
    const throughStatistic = finiteDifferences((v) => hpfFocalRef(plain, OPTIONS, 3, split(v)).loss, x);
    expect(Math.max(...got.map((g, k) => Math.abs(g - throughStatistic[k]!)))).toBeGreaterThan(1e-3);
    disposeLevels(levels);
  });

  it('with delta = 0 is exactly the static focal loss with alpha = w / gamma0 (value and gradient)', () => {
    const levels = plain.map(toTensors);
    for (const [gamma0, w] of [[2, 0.5], [1.5, 0.6], [2, 1.5]] as const) {
      const focus = new ProgressiveFocus({ gamma0, w, delta: 0 });
      const alpha = w / gamma0;
      const hpf = focus.focalLoss([levels[0]!], { avgFactor: 5 }).loss;
      const single = sigmoidFocalLoss(levels[0]!, { gamma: gamma0, alpha, avgFactor: 5 });
      expect(hpf.dataSync()[0]).toBe(single.dataSync()[0]);
      const multi = focus.focalLoss(levels, { avgFactor: 5 }).loss;
      const perLevel = tf.div(tf.addN(levels.map((l) => sigmoidFocalLoss(l, { gamma: gamma0, alpha, reduction: 'sum' }))), 5);
      expect(multi.dataSync()[0]).toBe(perLevel.dataSync()[0]);
      expect(focus.history.at(-1)!.levels.map((s) => s.alpha)).toEqual([alpha, alpha, alpha]);
      const gHpf = tf.grad((z: tf.Tensor) => focus.focalLoss([{ ...levels[0]!, logits: z as tf.Tensor2D }], { avgFactor: 5 }).loss)(levels[0]!.logits);
      const gStatic = tf.grad((z: tf.Tensor) => sigmoidFocalLoss({ ...levels[0]!, logits: z as tf.Tensor2D }, { gamma: gamma0, alpha, avgFactor: 5 }))(levels[0]!.logits);
      expect(Array.from(gHpf.dataSync())).toEqual(Array.from(gStatic.dataSync()));
      tf.dispose([hpf, single, multi, perLevel, gHpf, gStatic]);
    }
    disposeLevels(levels);
  });

  it("mode 'off' is the static loss whatever delta is", () => {
    const levels = plain.map(toTensors);
    const off = new ProgressiveFocus({ mode: 'off', delta: 0.5 }).focalLoss(levels, { avgFactor: 2 });
    const ref = tf.div(tf.addN(levels.map((l) => sigmoidFocalLoss(l, { reduction: 'sum' }))), 2);
    expect(off.loss.dataSync()[0]).toBe(ref.dataSync()[0]);
    expect(off.levels.map((s) => [s.gamma, s.alpha, s.focusStatistic])).toEqual([[2, 0.25, null], [2, 0.25, null], [2, 0.25, null]]);
    const total = tf.addN(levels.map((l) => sigmoidFocalLoss(l, { reduction: 'sum' })));
    expect(new ProgressiveFocus({ mode: 'off' }).focalLoss(levels, { reduction: 'sum' }).loss.dataSync()[0]).toBe(total.dataSync()[0]);
    const elements = sum(plain.map((p) => p.logits.length));
    expectClose(new ProgressiveFocus({ mode: 'off' }).focalLoss(levels).loss.dataSync(), total.dataSync()[0]! / elements);
    // the statistic is still measured for plotting
    expectClose(off.levels.map((s) => s.statistic!), plain.map((p) => statisticRef(positiveLogits(p), 'mean-nll')!));
    disposeLevels(levels);
  });

  it('moves gamma from gamma0 + delta to gamma0 - delta as the positives become confident', () => {
    const focus = new ProgressiveFocus(); // gamma0 2, delta 0.5
    const gammas = [-12, -6, -3, -2, -1.5, -1, 0, 3, 12].map((z) => {
      const level: LabelTargets = {
        logits: tf.tensor2d([z, -4, -4, -4, -4, -4], [2, C]),
        labels: tf.tensor1d([0, C], 'int32'),
      };
      const { loss, levels } = focus.focalLoss([level]);
      expectClose(levels[0]!.statistic!, -Math.log(1 / (1 + Math.exp(-z))));
      loss.dispose();
      tf.dispose([level.logits, level.labels]);
      return levels[0]!.gamma;
    });
    expect(gammas[0]).toBe(2.5); // p ~ 6e-6: s = 12 clipped to gamma0 + delta
    expect(gammas.at(-1)).toBe(1.5); // p ~ 1: s ~ 6e-6 clipped to gamma0 - delta
    expectClose(gammas[4]!, Math.log1p(Math.exp(1.5))); // interior: gamma = s exactly
    for (let i = 1; i < gammas.length; i++) expect(gammas[i]).toBeLessThanOrEqual(gammas[i - 1]!);
  });

  it('gives per-level gammas from per-level statistics', () => {
    const make = (z: number): LabelTargets => ({ logits: tf.tensor2d([z, -5, -5, -5, z, -5], [2, C]), labels: tf.tensor1d([0, 1], 'int32') });
    const levels = [make(3), make(-2), make(-5)];
    const { loss, levels: stats } = new ProgressiveFocus().focalLoss(levels);
    const sp = (z: number) => Math.log1p(Math.exp(-z));
    // both priors of a level are positives with logit z: s_l = softplus(-z)
    const expected = [3, -2, -5].map((z) => clip(sp(z), 1.5, 2.5));
    expectClose(stats.map((s) => s.gamma), expected);
    expect(stats[0]!.gamma).toBeLessThan(stats[1]!.gamma);
    expect(stats[2]!.gamma).toBe(2.5);
    loss.dispose();
    tf.dispose(levels.flatMap((l) => [l.logits, l.labels]));
  });

  it('uses gamma0 for an empty level and a level without positives', () => {
    const busy = toTensors(randomLevel(5, 9));
    const empty: LabelTargets = { logits: tf.zeros([0, C]) as tf.Tensor2D, labels: tf.zeros([0], 'int32') as tf.Tensor1D };
    const background: LabelTargets = { logits: tf.tensor2d([1, 2, 3, -1, -2, -3], [2, C]), labels: tf.tensor1d([C, -1], 'int32') };
    const { loss, levels } = new ProgressiveFocus(OPTIONS).focalLoss([busy, empty, background], { avgFactor: 4 });
    expect(levels.slice(1).map((s) => [s.numPositives, s.statistic, s.focusStatistic, s.gamma, s.alpha])).toEqual([
      [0, null, null, 2, 0.05],
      [0, null, null, 2, 0.05],
    ]);
    const plainBusy = randomLevel(5, 9);
    const g0 = clip(statisticRef(positiveLogits(plainBusy), 'mean-nll')!, 0.1, 3.9);
    const refLoss =
      (sumMatrix(focalRef(reshape(plainBusy.logits, 9, C), plainBusy.labels, plainBusy.weights, g0, 0.1 / g0)) +
        sumMatrix(focalRef([[1, 2, 3], [-1, -2, -3]], [C, -1], undefined, 2, 0.05))) /
      4;
    expectClose(loss.dataSync(), refLoss);
    tf.dispose([loss, busy.logits, busy.labels, busy.labelWeights!, empty.logits, empty.labels, background.logits, background.labels]);
  });

  it('gives a zero loss, zero gradient and gamma0 for all-ignored input', () => {
    const logits = tf.tensor2d([100, -100, 3, -3, 0.5, 7], [2, C]);
    for (const input of [
      { logits, labels: tf.tensor1d([-1, -1], 'int32') },
      { logits, labels: tf.tensor1d([0, 2], 'int32'), labelWeights: tf.zeros([2]) as tf.Tensor1D },
    ]) {
      const focus = new ProgressiveFocus();
      const { value, grads } = tf.valueAndGrads((z: tf.Tensor) => focus.focalLoss([{ ...input, logits: z as tf.Tensor2D }], { avgFactor: 1 }).loss)([logits]);
      expect(value.dataSync()[0]).toBe(0);
      expect(Array.from(grads[0]!.dataSync()).every((g) => g === 0)).toBe(true);
      expect(focus.history[0]!.levels[0]).toMatchObject({ numPositives: 0, statistic: null, gamma: 2, alpha: 0.25 });
    }
  });

  it('counts ignored priors neither as positives nor as negatives', () => {
    const base = { logits: [2, -1, -1, -1, 1, -1], labels: [0, 1] };
    const withIgnored = (z: number, label: number, weight: number): LabelTargets => ({
      logits: tf.tensor2d([...base.logits, z, z, z], [3, C]),
      labels: tf.tensor1d([...base.labels, label], 'int32'),
      labelWeights: tf.tensor1d([1, 1, weight]),
    });
    const clean = new ProgressiveFocus().focalLoss([{ logits: tf.tensor2d(base.logits, [2, C]), labels: tf.tensor1d(base.labels, 'int32') }]);
    for (const level of [withIgnored(-50, -1, 1), withIgnored(-50, 2, 0), withIgnored(50, 2, 0)]) {
      const { loss, levels } = new ProgressiveFocus().focalLoss([level], { reduction: 'sum' });
      expect(levels[0]!.numPositives).toBe(2);
      expect(levels[0]!.statistic).toBe(clean.levels[0]!.statistic);
      expectClose(loss.dataSync(), sumMatrix(focalRef(reshape(base.logits, 2, C), base.labels, undefined, levels[0]!.gamma, levels[0]!.alpha!)));
    }
  });

  it('is finite in value and gradient for logits of +-100', () => {
    const z = [100, -100, 100, -100, 100, -100];
    const level = { logits: tf.tensor2d(z, [2, C]), labels: tf.tensor1d([1, 0], 'int32') };
    for (const statistic of ['mean-nll', 'nll-of-mean'] as const) {
      const focus = new ProgressiveFocus({ statistic });
      const { value, grads } = tf.valueAndGrads((x: tf.Tensor) => focus.focalLoss([{ ...level, logits: x as tf.Tensor2D }]).loss)([level.logits]);
      expectAllFinite(value.dataSync(), 'loss');
      expectAllFinite(grads[0]!.dataSync(), 'gradient');
      expect(focus.history[0]!.levels[0]!.gamma).toBe(2.5);
    }
  });

  it('smooths the statistic with momentum and keeps the state across an empty level', () => {
    const focus = new ProgressiveFocus({ momentum: 0.75, delta: 1.5 });
    const zs = [-1, 0.5, 2];
    const expected: number[] = [];
    let ema: number | undefined;
    for (const z of zs) {
      const s = Math.log1p(Math.exp(-z));
      ema = ema === undefined ? s : 0.75 * ema + 0.25 * s;
      expected.push(ema);
      const level = { logits: tf.tensor2d([z, -3, -3], [1, C]), labels: tf.tensor1d([0], 'int32') };
      const { loss, levels } = focus.focalLoss([level]);
      expectClose(levels[0]!.statistic!, s);
      expectClose(levels[0]!.focusStatistic!, ema);
      expectClose(levels[0]!.gamma, clip(ema, 0.5, 3.5));
      loss.dispose();
    }
    const empty = { logits: tf.tensor2d([0, 0, 0], [1, C]), labels: tf.tensor1d([C], 'int32') };
    expect(focus.focalLoss([empty]).levels[0]!.gamma).toBe(2);
    const again = { logits: tf.tensor2d([0, -3, -3], [1, C]), labels: tf.tensor1d([0], 'int32') };
    expectClose(focus.focalLoss([again]).levels[0]!.focusStatistic!, 0.75 * ema! + 0.25 * Math.log(2));
    focus.reset();
    expectClose(focus.focalLoss([again]).levels[0]!.focusStatistic!, Math.log(2));
  });

  it('keeps a bounded history and resets it', () => {
    const focus = new ProgressiveFocus({ historyLimit: 2 });
    const level = { logits: tf.tensor2d([1, -1, -1], [1, C]), labels: tf.tensor1d([0], 'int32') };
    for (let i = 0; i < 3; i++) focus.focalLoss([level]).loss.dispose();
    expect(focus.history.map((h) => h.step)).toEqual([1, 2]);
    expect(focus.history[0]).toMatchObject({ loss: 'focal', mode: 'hierarchical' });
    focus.history.pop();
    expect(focus.history).toHaveLength(2); // a copy
    focus.reset();
    expect(focus.history).toEqual([]);
    focus.focalLoss([level]).loss.dispose();
    expect(focus.history[0]!.step).toBe(0);
  });

  it('does not leak tensors across iterations', () => {
    const levels = plain.map(toTensors);
    const focus = new ProgressiveFocus({ statistic: 'nll-of-mean', momentum: 0.5 });
    focus.focalLoss(levels).loss.dispose();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      const { grads, value } = tf.valueAndGrads((...z: tf.Tensor[]) => focus.focalLoss(levels.map((l, k) => ({ ...l, logits: z[k] as tf.Tensor2D }))).loss)(levels.map((l) => l.logits));
      tf.dispose([value, ...grads]);
    }
    expect(tf.memory().numTensors).toBe(before);
    disposeLevels(levels);
  });

  it('validates its inputs and call options', () => {
    const level = toTensors(randomLevel(9, 4));
    const focus = new ProgressiveFocus();
    expect(() => focus.focalLoss([level, { ...level, labels: tf.tensor1d([0], 'int32') }])).toThrow(/level 1: labels must have shape \[4\], got \[1\]/);
    expect(() => focus.focalLoss([level], { reduction: 'none' as 'sum' })).toThrow(/reduction must be 'mean' or 'sum'/);
    expect(() => focus.focalLoss([level], { avgFactor: -1 })).toThrow(/avgFactor must be a finite number > 0/);
    expect(() => focus.focalLoss([level], { iouWeighted: true } as never)).toThrow(/unknown option 'iouWeighted'/);
    expect(() => new ProgressiveFocus({ gamma0: 0.5, delta: 0.5 }).focalLoss([level])).toThrow(/alpha = w \/ gamma needs gamma > 0, but gamma can reach 0/);
    // quality focal loss has no alpha, so beta may reach 0
    const q = new ProgressiveFocus({ gamma0: 0.5, delta: 0.5 }).qualityFocalLoss([{ ...level, scores: tf.ones([4]) as tf.Tensor1D }]);
    expect(q.levels[0]!.alpha).toBeNull();
  });

  it('refuses options that let alpha = w / gamma exceed 1, stating the constraint', () => {
    const level = toTensors(randomLevel(9, 4));
    // gamma can fall to 2 - 1.75 = 0.25 < w = 0.5: alpha would reach 2 and negatives get weight -1.
    expect(() => new ProgressiveFocus({ gamma0: 2, delta: 1.75, w: 0.5 }).focalLoss([level])).toThrow(
      'alpha = w / gamma must stay <= 1, which needs gamma0 - delta >= w; got gamma0 = 2, delta = 1.75, w = 0.5 (lowest gamma 0.25 < w)',
    );
    expect(() => new ProgressiveFocus({ mode: 'off', gamma0: 0.4, delta: 0, w: 0.5 }).focalLoss([level])).toThrow('needs gamma0 >= w');
    // At the boundary alpha reaches exactly 1: allowed, and the loss stays >= 0.
    const edge = new ProgressiveFocus({ gamma0: 2, delta: 1.5, w: 0.5 }).focalLoss([level]);
    expect(edge.loss.dataSync()[0]).toBeGreaterThanOrEqual(0);
    edge.loss.dispose();
    // The varifocal loss weighs negatives by alpha alone (no 1 - alpha): alpha > 1 is allowed there.
    const vfl = new ProgressiveFocus({ gamma0: 2, delta: 1, w: 1.5 }).varifocalLoss([{ logits: level.logits, targets: tf.zeros(level.logits.shape) as tf.Tensor2D }]);
    expect(vfl.loss.dataSync()[0]).toBeGreaterThanOrEqual(0);
    vfl.loss.dispose();
    // quality focal loss has no alpha: the same options are fine there.
    const q = new ProgressiveFocus({ gamma0: 2, delta: 1.75, w: 0.5 }).qualityFocalLoss([{ ...level, scores: tf.ones([4]) as tf.Tensor1D }]);
    expect(q.levels[0]!.alpha).toBeNull();
  });
});

describe('ProgressiveFocus.qualityFocalLoss and varifocalLoss', () => {
  const plain = [randomLevel(11, 10, -1), randomLevel(12, 6, 2)];
  const scoresOf = (seed: number, n: number) => {
    const rand = random(seed);
    return Array.from({ length: n }, () => 0.2 + 0.7 * rand());
  };

  it('QFL: beta_l from the statistic, no alpha, loss as the float64 reference', () => {
    const scores = plain.map((p, l) => scoresOf(20 + l, p.labels.length));
    const levels = plain.map((p, l) => ({ ...toTensors(p), scores: tf.tensor1d(scores[l]!) }));
    const { loss, levels: stats } = new ProgressiveFocus({ delta: 1 }).qualityFocalLoss(levels, { avgFactor: 6 });
    const betas = plain.map((p) => clip(statisticRef(positiveLogits(p), 'mean-nll')!, 1, 3));
    expectClose(stats.map((s) => s.gamma), betas);
    expect(stats.map((s) => s.alpha)).toEqual([null, null]);
    const ref = sum(plain.map((p, l) => sum(qflRef(reshape(p.logits, p.labels.length, C), p.labels, scores[l]!, p.weights, betas[l]!)))) / 6;
    expectClose(loss.dataSync(), ref);
    // delta = 0: exactly the static QFL
    const exact = new ProgressiveFocus({ delta: 0 }).qualityFocalLoss([levels[0]!], { avgFactor: 6 }).loss;
    expect(exact.dataSync()[0]).toBe(qualityFocalLoss(levels[0]!, { beta: 2, avgFactor: 6 }).dataSync()[0]);
  });

  it('VFL: gamma_l on the negative term, alpha_l = w / gamma_l, positives are targets > 0', () => {
    const targetsOf = (p: PlainLevel, seed: number): Matrix => {
      const rand = random(seed);
      return p.labels.map((label) => Array.from({ length: C }, (_, c) => (label === c ? 0.1 + 0.8 * rand() : 0)));
    };
    const targets = plain.map((p, l) => targetsOf(p, 30 + l));
    const levels = plain.map((p, l) => ({
      logits: tf.tensor2d(p.logits, [p.labels.length, C]),
      targets: tf.tensor2d(targets[l]!),
      weights: tf.tensor1d(p.weights),
    }));
    const focus = new ProgressiveFocus({ w: 1.5, delta: 1 });
    const { loss, levels: stats } = focus.varifocalLoss(levels, { avgFactor: 5 });
    const positives = plain.map((p, l) => p.logits.filter((_, k) => targets[l]![Math.floor(k / C)]![k % C]! > 0 && p.weights[Math.floor(k / C)]! > 0));
    const gammas = positives.map((z) => clip(statisticRef(z, 'mean-nll')!, 1, 3));
    expect(stats.map((s) => s.numPositives)).toEqual(positives.map((z) => z.length));
    expectClose(stats.map((s) => s.gamma), gammas);
    expectClose(stats.map((s) => s.alpha!), gammas.map((g) => 1.5 / g));
    const ref = sum(plain.map((p, l) => sumMatrix(vflRef(reshape(p.logits, p.labels.length, C), targets[l]!, p.weights, gammas[l]!, 1.5 / gammas[l]!)))) / 5;
    expectClose(loss.dataSync(), ref);
    // delta = 0 with w = 0.75 * 2: exactly the static VFL defaults
    const exact = new ProgressiveFocus({ w: 1.5, delta: 0 }).varifocalLoss([levels[1]!], { avgFactor: 5 }).loss;
    expect(exact.dataSync()[0]).toBe(varifocalLoss(levels[1]!, { avgFactor: 5 }).dataSync()[0]);
  });
});

describe('ProgressiveFocus.levelFocus', () => {
  it('gives gamma_l and alpha_l from caller-chosen positives, recorded as a custom step', () => {
    const focus = new ProgressiveFocus({ delta: 1 });
    const z0 = [0.5, -2, 3, -0.25];
    const m0 = [1, 1, 0, 1];
    const z1 = [[1, 2], [-3, 0]];
    const stats = focus.levelFocus([
      { logits: tf.tensor1d(z0), positives: tf.tensor1d(m0, 'bool') },
      { logits: tf.tensor2d(z1), positives: tf.zeros([2, 2]) },
    ]);
    const s0 = statisticRef(z0.filter((_, k) => m0[k] === 1), 'mean-nll')!;
    expectClose(stats[0]!.statistic!, s0);
    expectClose(stats[0]!.gamma, clip(s0, 1, 3));
    expectClose(stats[0]!.alpha!, 0.5 / clip(s0, 1, 3));
    expect(stats[1]).toMatchObject({ numPositives: 0, statistic: null, gamma: 2, alpha: 0.25 });
    expect(focus.history[0]).toMatchObject({ step: 0, loss: 'custom' });
    expect(focus.levelFocus([{ logits: tf.tensor1d([1]), positives: tf.ones([1]) }], { withAlpha: false })[0]!.alpha).toBeNull();
    expect(() => focus.levelFocus([{ logits: tf.tensor1d([1, 2]), positives: tf.ones([3]) }])).toThrow(/level 0: positives must have the shape of logits \[2\], got \[3\]/);
  });
});
