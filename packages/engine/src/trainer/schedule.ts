/**
 * Learning-rate schedule as in mmcv's runner: step decay (lr = baseLr * gamma^k after the k-th
 * milestone) with a linear warm-up over the first iterations whose factor rises from warmupRatio
 * to 1: factor(i) = 1 - (1 - i / warmupIters) * (1 - warmupRatio).
 */
import { checkNumber, rejectUnknownOptions } from './options.js';

export interface LrScheduleOptions {
  baseLr: number;
  /** Iterations of linear warm-up (default 0: none). */
  warmupIters?: number;
  /** Factor at iteration 0 of the warm-up (default 0.001, mmdetection's). */
  warmupRatio?: number;
  /** Iterations at which the lr is multiplied by gamma (ascending). */
  steps?: number[];
  gamma?: number;
}

export type LrSchedule = (iteration: number) => number;

/** Multiplier of the warm-up at `iteration` (1 once warm-up is over). */
export function warmupFactor(iteration: number, warmupIters: number, warmupRatio: number): number {
  if (iteration >= warmupIters) return 1;
  return 1 - (1 - iteration / warmupIters) * (1 - warmupRatio);
}

export function createLrSchedule(options: LrScheduleOptions): LrSchedule {
  rejectUnknownOptions('createLrSchedule', options, ['baseLr', 'warmupIters', 'warmupRatio', 'steps', 'gamma']);
  const { baseLr, warmupIters = 0, warmupRatio = 0.001, steps = [], gamma = 0.1 } = options;
  checkNumber('createLrSchedule', 'baseLr', baseLr, 0, false);
  checkNumber('createLrSchedule', 'warmupIters', warmupIters, 0);
  checkNumber('createLrSchedule', 'warmupRatio', warmupRatio, 0);
  checkNumber('createLrSchedule', 'gamma', gamma, 0);
  if (warmupRatio > 1) throw new Error(`createLrSchedule: option 'warmupRatio' must be <= 1, got ${warmupRatio}`);
  steps.forEach((s, i) => {
    if (!Number.isInteger(s) || s < 0 || (i > 0 && s <= steps[i - 1]!)) {
      throw new Error(`createLrSchedule: option 'steps' must be ascending non-negative integers, got [${steps}]`);
    }
  });
  return (iteration: number): number => {
    if (!Number.isInteger(iteration) || iteration < 0) {
      throw new Error(`lr schedule: iteration must be a non-negative integer, got ${iteration}`);
    }
    const decays = steps.filter((s) => iteration >= s).length;
    return baseLr * gamma ** decays * warmupFactor(iteration, warmupIters, warmupRatio);
  };
}
