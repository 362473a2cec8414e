/**
 * Saves and restores the state of a detector's HPF `ProgressiveFocus` (step counter, EMA of the
 * per-level statistic, recorded history). With `momentum > 0` the EMA decides the next gammas, so
 * `--resume` must restore it to continue exactly. @hpf/loss keeps the state private and has no
 * snapshot API yet; this module reads the fields and checks they look as expected.
 */
import type { HpfStep, ProgressiveFocus } from '@hpf/loss';

export interface FocusState {
  steps: number;
  smoothed: Array<[number, number]>;
  records: HpfStep[];
}

interface FocusInternals {
  steps: number;
  smoothed: Map<number, number>;
  records: HpfStep[];
}

function internals(focus: ProgressiveFocus): FocusInternals {
  const inner = focus as unknown as Partial<FocusInternals>;
  if (typeof inner.steps !== 'number' || !(inner.smoothed instanceof Map) || !Array.isArray(inner.records)) {
    throw new Error('ProgressiveFocus no longer keeps steps/smoothed/records; @hpf/cli checkpoints need updating');
  }
  return inner as FocusInternals;
}

/** The focus object of a detector, if the adapter exposes one (all adapters here do, as `focus`). */
export function detectorFocus(detector: object): ProgressiveFocus | undefined {
  const focus = (detector as { focus?: unknown }).focus;
  return focus !== null && typeof focus === 'object' && 'levelFocus' in focus ? (focus as ProgressiveFocus) : undefined;
}

export function saveFocusState(focus: ProgressiveFocus): FocusState {
  const s = internals(focus);
  return { steps: s.steps, smoothed: [...s.smoothed.entries()], records: s.records.slice() };
}

export function restoreFocusState(focus: ProgressiveFocus, state: FocusState): void {
  const s = internals(focus);
  s.steps = state.steps;
  s.smoothed.clear();
  for (const [k, v] of state.smoothed) s.smoothed.set(k, v);
  s.records = state.records.map((r) => Object.freeze({ ...r }));
}
