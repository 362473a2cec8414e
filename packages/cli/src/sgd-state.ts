/**
 * Reads and restores the momentum buffers of @hpf/engine's SgdMomentum, which keeps them in a
 * private field. A checkpoint needs them for `--resume` to continue exactly; engine has no public
 * accessor yet, so this module reaches into the field and checks its shape, failing loudly if
 * engine's internals change.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { SgdMomentum } from '@hpf/engine';

interface SgdInternals {
  velocity: (tf.Variable | undefined)[];
  variables: readonly tf.Variable[];
}

function internals(optimizer: SgdMomentum): SgdInternals {
  const inner = optimizer as unknown as Partial<SgdInternals>;
  if (!Array.isArray(inner.velocity) || inner.velocity.length !== optimizer.variables.length) {
    throw new Error('SgdMomentum no longer keeps its momentum buffers in `velocity`; @hpf/cli checkpoints need updating');
  }
  return inner as SgdInternals;
}

/** Momentum buffers as [name, tensor] (only those created so far); the tensors stay the optimizer's. */
export function momentumBuffers(optimizer: SgdMomentum): Array<[string, tf.Variable]> {
  const { velocity } = internals(optimizer);
  const out: Array<[string, tf.Variable]> = [];
  velocity.forEach((v, i) => {
    if (v !== undefined) out.push([`momentum/${i}`, v]);
  });
  return out;
}

/** Recreates the momentum buffers from stored values (index i belongs to variables[i]). */
export function restoreMomentum(optimizer: SgdMomentum, stored: ReadonlyMap<string, { shape: number[]; values: Float32Array }>): void {
  const { velocity, variables } = internals(optimizer);
  velocity.forEach((v, i) => {
    v?.dispose();
    velocity[i] = undefined;
  });
  for (const [name, t] of stored) {
    if (!name.startsWith('momentum/')) continue;
    const i = Number(name.slice('momentum/'.length));
    const variable = variables[i];
    if (variable === undefined) throw new Error(`checkpoint momentum buffer ${i} has no variable (the model has ${variables.length})`);
    if (!tf.util.arraysEqual(t.shape, variable.shape)) {
      throw new Error(`checkpoint momentum buffer of '${variable.name}' has shape [${t.shape}], the variable [${variable.shape}]`);
    }
    const initial = tf.tensor(t.values, t.shape, 'float32');
    velocity[i] = tf.variable(initial, false, `${variable.name}/momentum`);
    initial.dispose();
  }
}
