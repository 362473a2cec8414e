import { describe, expect, it } from 'vitest';
import { DEFAULT_HPF_OPTIONS, ProgressiveFocus, resolveHpfOptions, validateHpfOptions } from '../src/index.js';

describe('HPF options', () => {
  it('defaults to docs/architecture.md section 1: hierarchical, gamma0 2, delta 0.5, w 0.5, mean-nll, no momentum', () => {
    expect(validateHpfOptions({})).toEqual({ ...DEFAULT_HPF_OPTIONS });
    expect(DEFAULT_HPF_OPTIONS).toMatchObject({ mode: 'hierarchical', gamma0: 2, delta: 0.5, w: 0.5, statistic: 'mean-nll', momentum: 0 });
    expect(new ProgressiveFocus().options.w / new ProgressiveFocus().options.gamma0).toBe(0.25);
  });

  it('rejects each invalid option with a clear message', () => {
    const bad: Array<[object, RegExp]> = [
      [{ delta: -0.1 }, /delta must be a finite number >= 0, got -0.1/],
      [{ gamma0: 1, delta: 1.5 }, /gamma0 - delta must be >= 0 .* got gamma0 = 1, delta = 1.5/],
      [{ w: 0 }, /w must be a finite number > 0, got 0/],
      [{ w: -1 }, /w must be a finite number > 0/],
      [{ mode: 'per-image' }, /unknown mode 'per-image' \(expected hierarchical, global, off\)/],
      [{ statistic: 'median' }, /unknown statistic 'median'/],
      [{ momentum: 1 }, /momentum must be in \[0, 1\)/],
      [{ gamma0: Number.NaN }, /gamma0 must be a finite number >= 0, got NaN/],
      [{ historyLimit: 1.5 }, /historyLimit must be an integer/],
      [{ gama0: 2 }, /unknown option 'gama0'/],
    ];
    for (const [options, message] of bad) {
      expect(() => new ProgressiveFocus(options)).toThrow(message);
    }
  });
});

describe('resolveHpfOptions', () => {
  it('false is the published loss: mode off, gamma0 = gamma, w = alpha * gamma, delta 0', () => {
    expect(resolveHpfOptions(false, { gamma: 2, alpha: 0.25 })).toMatchObject({ mode: 'off', gamma0: 2, w: 0.5, delta: 0 });
    expect(resolveHpfOptions(false, { gamma: 2, alpha: 0.75 })).toMatchObject({ mode: 'off', gamma0: 2, w: 1.5 });
  });

  it('true is HPF centred on the published values', () => {
    expect(resolveHpfOptions(true, { gamma: 2, alpha: 0.25 })).toEqual({ ...DEFAULT_HPF_OPTIONS });
    expect(resolveHpfOptions(true, { gamma: 2, alpha: 0.75 })).toMatchObject({ mode: 'hierarchical', gamma0: 2, delta: 0.5, w: 1.5 });
    // quality focal loss has no alpha: w keeps the default and is unused
    expect(resolveHpfOptions(true, { gamma: 2 })).toMatchObject({ gamma0: 2, w: 0.5 });
  });

  it('an object overrides the HPF options and is validated', () => {
    expect(resolveHpfOptions({ delta: 0.25, mode: 'global' }, { gamma: 2, alpha: 0.25 })).toMatchObject({
      mode: 'global',
      delta: 0.25,
      gamma0: 2,
      w: 0.5,
    });
    expect(resolveHpfOptions({ delta: undefined }, { gamma: 2, alpha: 0.25 }).delta).toBe(0.5);
    expect(() => resolveHpfOptions({ delta: 3 }, { gamma: 2, alpha: 0.25 })).toThrow(/gamma0 - delta must be >= 0/);
    expect(() => resolveHpfOptions({ beta: 2 } as never, { gamma: 2 })).toThrow(/hpf: unknown option 'beta'/);
    expect(() => resolveHpfOptions('yes' as never, { gamma: 2 })).toThrow(/hpf must be true, false or an options object/);
    expect(() => resolveHpfOptions(true, { gamma: 2, alpha: 0 })).toThrow(/published.alpha must be a finite number > 0/);
  });
});
