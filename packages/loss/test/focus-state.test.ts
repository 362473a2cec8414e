import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { FOCUS_STATE_FORMAT, ProgressiveFocus, type FocusState, type HpfOptions, type LabelTargets } from '../src/index.js';
import { useCpuBackend } from './support/backend.js';
import { random } from './support/reference.js';

beforeAll(useCpuBackend);

const C = 3;

/** Level `l` of iteration `step`: seeded logits drifting with the step (as training moves them); level 2 is empty at step 3. */
function levelAt(step: number, l: number): LabelTargets {
  const n = 6 + 2 * l;
  const rand = random(100 * step + l + 1);
  const labels = Array.from({ length: n }, (_, i) => (step === 3 && l === 2 ? C : [0, 1, 2, C, -1][(i + step) % 5]!));
  const logits = Array.from({ length: n * C }, () => 6 * rand() - 4 + 0.3 * step);
  return { logits: tf.tensor2d(logits, [n, C]), labels: tf.tensor1d(labels, 'int32') };
}

/** One call at `step`: the loss (as float32 bits) and the per-level numbers. */
function callAt(focus: ProgressiveFocus, step: number) {
  const levels = [0, 1, 2].map((l) => levelAt(step, l));
  const { loss, levels: stats } = focus.focalLoss(levels, { avgFactor: 5 });
  const value = loss.dataSync()[0]!;
  tf.dispose([loss, ...levels.flatMap((l) => [l.logits, l.labels])]);
  return { value, stats };
}

const STEPS = 8;
const CASES: Array<Partial<HpfOptions>> = [
  { mode: 'hierarchical', momentum: 0.6, delta: 1.9, w: 0.1 },
  { mode: 'global', momentum: 0.8, delta: 1.9, w: 0.1, statistic: 'nll-of-mean' },
  { mode: 'hierarchical', momentum: 0, delta: 1.9, w: 0.1, historyLimit: 3 },
];

describe('ProgressiveFocus.state / loadState', () => {
  for (const options of CASES) {
    it(`k calls, snapshot through JSON, load into a fresh object, continue = uninterrupted (${JSON.stringify(options)})`, () => {
      const straight = new ProgressiveFocus(options);
      const expected = Array.from({ length: STEPS }, (_, step) => callAt(straight, step));
      for (const k of [0, 3, 5]) {
        const first = new ProgressiveFocus(options);
        for (let step = 0; step < k; step++) callAt(first, step);
        const snapshot = JSON.parse(JSON.stringify(first.state())) as FocusState;
        expect(snapshot.format).toBe(FOCUS_STATE_FORMAT);
        expect(snapshot.steps).toBe(k);
        const resumed = new ProgressiveFocus(options);
        resumed.loadState(snapshot);
        const rest = Array.from({ length: STEPS - k }, (_, i) => callAt(resumed, k + i));
        // the same float32 loss to the bit, the same gammas and statistics
        expect(rest).toEqual(expected.slice(k));
        expect(resumed.history).toEqual(straight.history);
        expect(resumed.state()).toEqual(straight.state());
      }
      // the EMA carries something to restore in the momentum cases
      if (options.momentum! > 0) expect(straight.state().smoothed.length).toBeGreaterThan(0);
    });
  }

  it('a state shares nothing with the object (later calls do not change it, changing it does not change the object)', () => {
    const focus = new ProgressiveFocus({ momentum: 0.5 });
    callAt(focus, 0);
    const snapshot = focus.state();
    const copy = JSON.parse(JSON.stringify(snapshot)) as FocusState;
    callAt(focus, 1);
    expect(snapshot).toEqual(copy);
    (snapshot.history[0]!.levels[0] as { gamma: number }).gamma = 99;
    snapshot.smoothed[0]![1] = 99;
    expect(focus.history[0]!.levels[0]!.gamma).not.toBe(99);
    expect(focus.state().smoothed[0]![1]).not.toBe(99);
  });

  it('refuses a malformed state, naming the field, and changes nothing', () => {
    const focus = new ProgressiveFocus({ momentum: 0.5 });
    for (let step = 0; step < 2; step++) callAt(focus, step);
    const good = focus.state();
    const target = new ProgressiveFocus({ momentum: 0.5 });
    const bad = (patch: Record<string, unknown>) => ({ ...good, ...patch }) as unknown as FocusState;
    expect(() => target.loadState(bad({ format: 2 }))).toThrow("ProgressiveFocus.loadState: state.format must be 1 (the only FocusState format this version reads), got 2");
    expect(() => target.loadState(bad({ steps: -1 }))).toThrow(/state\.steps must be an integer >= 0, got -1/);
    expect(() => target.loadState(bad({ numLevels: 2 }))).toThrow(/state\.smoothed\[2\]\[0\] must be a level in \[0, 2\)/);
    expect(() => target.loadState(bad({ smoothed: [[0, 1], [0, 2]] }))).toThrow(/state\.smoothed\[1\]\[0\] must be a level not listed before, got 0/);
    expect(() => target.loadState(bad({ smoothed: [[0, null]] }))).toThrow(/state\.smoothed\[0\] must be \[level, finite value\], got \[0,null\]/);
    expect(() => target.loadState(bad({ steps: 1 }))).toThrow(/state\.history\[1\]\.step must be an increasing integer below steps \(1\), got 1/);
    const history = structuredClone(good.history);
    (history[1]!.levels[2] as { gamma: unknown }).gamma = 'x';
    expect(() => target.loadState(bad({ history }))).toThrow(/state\.history\[1\]\.levels\[2\]\.gamma must be a finite number, got "x"/);
    expect(() => target.loadState(bad({ history: [{ ...good.history[0]!, levels: good.history[0]!.levels.slice(1) }] }))).toThrow(
      /state\.history\[0\]\.levels must be an array of 3 LevelStats, got "2 entries"/,
    );
    expect(() => target.loadState(bad({ extra: 1 }))).toThrow(/unknown option 'extra'/);
    expect(() => new ProgressiveFocus({ momentum: 0.9 }).loadState(good)).toThrow('ProgressiveFocus.loadState: state.momentum is 0.5 but this ProgressiveFocus has momentum 0.9');
    expect(() => new ProgressiveFocus({ momentum: 0.5, mode: 'global' }).loadState({ ...good, smoothed: [] })).toThrow(
      'ProgressiveFocus.loadState: state.mode is "hierarchical" but this ProgressiveFocus has mode "global"',
    );
    expect(() => new ProgressiveFocus({ momentum: 0 }).loadState(bad({ momentum: 0 }))).toThrow(/state\.smoothed must be empty with momentum 0 \(no EMA is kept\)/);
    // nothing was loaded by the failed attempts
    expect(target.state()).toEqual(new ProgressiveFocus({ momentum: 0.5 }).state());
  });

  it('after loading, a call with another number of levels is refused; reset lifts that', () => {
    const focus = new ProgressiveFocus({ momentum: 0.5 });
    callAt(focus, 0);
    const target = new ProgressiveFocus({ momentum: 0.5 });
    target.loadState(focus.state());
    const two = [levelAt(1, 0), levelAt(1, 1)];
    expect(() => target.focalLoss(two)).toThrow('ProgressiveFocus.focalLoss: got 2 levels, but the state loaded by loadState is for 3');
    target.reset();
    target.focalLoss(two).loss.dispose();
    tf.dispose(two.flatMap((l) => [l.logits, l.labels]));
  });

  it('keeps the newest entries of a history longer than historyLimit', () => {
    const focus = new ProgressiveFocus({ historyLimit: 10 });
    for (let step = 0; step < 5; step++) callAt(focus, step);
    const small = new ProgressiveFocus({ historyLimit: 2 });
    small.loadState(focus.state());
    expect(small.history.map((h) => h.step)).toEqual([3, 4]);
    expect(callAt(small, 5).stats).toEqual(callAt(focus, 5).stats);
    expect(small.history.map((h) => h.step)).toEqual([4, 5]);
  });
});
