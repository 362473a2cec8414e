/**
 * The optimizer state in a checkpoint: @hpf/engine's `SgdMomentum.state()` / `loadState()` (versioned,
 * validated on load), its momentum buffers stored as tensors `momentum/<variable name>` beside the
 * model's `model/<name>`. Checkpoint format 1 named the buffers by variable index (`momentum/<i>`)
 * and stored no variable list; those are read too.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { SgdMomentum, SgdState } from './sgd.js';

export const MOMENTUM_PREFIX = 'momentum/';

/** The JSON part of an `SgdState` (the tensors go to the checkpoint's data section). */
export type SgdStateMeta = Omit<SgdState, 'momentum'>;

/** The optimizer's state split for a checkpoint; the caller disposes `tensors` once written. */
export function sgdCheckpointParts(optimizer: SgdMomentum): { meta: SgdStateMeta; tensors: Array<[string, tf.Tensor]> } {
  const { momentum, ...meta } = optimizer.state();
  return { meta, tensors: momentum.map(([name, t]) => [`${MOMENTUM_PREFIX}${name}`, t]) };
}

/**
 * The `SgdState` stored in a checkpoint, with new tensors the caller disposes after `loadState`.
 * For format 1, `names` (the optimizer's variable names, in order) maps buffer indexes to names.
 */
export function sgdStateOf(
  path: string,
  checkpointFormat: number,
  meta: SgdStateMeta | undefined,
  tensors: ReadonlyMap<string, { shape: number[]; values: Float32Array }>,
  names: readonly string[],
): SgdState {
  const stored = [...tensors].filter(([n]) => n.startsWith(MOMENTUM_PREFIX));
  const nameOf = (key: string): string => {
    const suffix = key.slice(MOMENTUM_PREFIX.length);
    if (checkpointFormat !== 1) return suffix;
    const i = Number(suffix);
    if (!Number.isInteger(i) || names[i] === undefined) throw new Error(`${path}: momentum buffer '${key}' has no variable (the model has ${names.length})`);
    return names[i]!;
  };
  if (checkpointFormat !== 1 && meta === undefined) throw new Error(`${path}: the checkpoint has no optimizer state`);
  const base: SgdStateMeta = checkpointFormat === 1 ? { format: 1, variables: [...names] } : meta!;
  // Names are resolved before any tensor is made, so a bad entry leaks nothing.
  const named = stored.map(([key, t]) => [nameOf(key), t] as const);
  return { ...base, momentum: named.map(([name, t]) => [name, tf.tensor(t.values, t.shape, 'float32')]) };
}
