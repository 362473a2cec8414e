/**
 * The HPF focus state in a checkpoint: @hpf/loss's `ProgressiveFocus.state()` / `loadState()`
 * (versioned, validated on load), plus the reading of checkpoints written before that API existed
 * (checkpoint format 1 stored {steps, smoothed, records}).
 */
import type { FocusState, HpfStep } from '@hpf/loss';

/** What checkpoint format 1 stored for the focus. */
export interface LegacyFocusState {
  steps: number;
  smoothed: Array<[number, number]>;
  records: HpfStep[];
}

/**
 * The focus state of a checkpoint as `loadState` takes it. A format-1 state carries neither its
 * options nor a format number: the ones of the detector's current state `current` are assumed (the
 * resumed run's options were checked equal to the checkpoint's), and its number of levels is read
 * off its history.
 */
export function focusStateOf(path: string, checkpointFormat: number, stored: unknown, current: FocusState): FocusState {
  if (checkpointFormat !== 1) return stored as FocusState;
  const legacy = stored as Partial<LegacyFocusState> | null;
  if (legacy === null || typeof legacy !== 'object' || !Array.isArray(legacy.records) || !Array.isArray(legacy.smoothed)) {
    throw new Error(`${path}: the focus state of this format-1 checkpoint is not {steps, smoothed, records}`);
  }
  const last = legacy.records[legacy.records.length - 1];
  const { mode, statistic, momentum } = current;
  return {
    format: 1,
    mode,
    statistic,
    momentum,
    numLevels: last === undefined ? null : last.levels.length,
    steps: legacy.steps as number,
    smoothed: legacy.smoothed,
    history: legacy.records,
  };
}
