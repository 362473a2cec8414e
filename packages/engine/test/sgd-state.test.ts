import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { SGD_STATE_FORMAT, SgdMomentum, type SgdState } from '../src/index.js';
import { installTrainingKernels } from '../src/index.js';

// What the trainer does before training: tfjs-core's gradients and the wasm kernels.
installTrainingKernels();

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const NAMES = ['layer.weight', 'layer.bias'];
const INITIAL = { 'layer.weight': [[0.5, -1.25], [2, 0.75], [-0.3, 1.1]], 'layer.bias': [0.1, -0.2] };
const X = (): tf.Tensor2D => tf.tensor2d([[1, 2, -1], [0.5, -1, 3], [2, 0, 1]]);
const Y = (): tf.Tensor2D => tf.tensor2d([[1, 0], [0, 1], [1, 1]]);

/** A small model (weights set from `values`) and an optimizer over it with stable names. */
function model(values: Record<string, number[] | number[][]> = INITIAL) {
  const variables = NAMES.map((n) => {
    const initial = tf.tensor(values[n]!);
    const variable = tf.variable(initial, true);
    initial.dispose();
    return variable;
  });
  const optimizer = new SgdMomentum(variables, { momentum: 0.9, weightDecay: 1e-2, names: NAMES });
  return { variables, optimizer };
}

/** One step of a nonlinear least-squares fit (the gradient depends on the weights). */
function step({ variables, optimizer }: ReturnType<typeof model>, k: number): void {
  const [w, b] = variables as [tf.Variable, tf.Variable];
  const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(tf.sub(tf.tanh(tf.add(tf.matMul(X(), w), b)), Y()))) as tf.Scalar, variables);
  optimizer.step(variables.map((v) => grads[v.name]!), 0.3 / (1 + k));
  tf.dispose([value, ...Object.values(grads)]);
}

const weights = (variables: tf.Variable[]) => variables.map((v) => Array.from(v.dataSync()));

/** What a checkpoint keeps of a state: JSON for the data, plain float32 arrays for the tensors. */
function throughFile(state: SgdState) {
  const json = JSON.stringify({ format: state.format, variables: state.variables });
  const tensors = state.momentum.map(([name, t]) => ({ name, shape: t.shape, values: Float32Array.from(t.dataSync() as Float32Array) }));
  tf.dispose(state.momentum.map(([, t]) => t));
  return () => ({ ...(JSON.parse(json) as Omit<SgdState, 'momentum'>), momentum: tensors.map((t) => [t.name, tf.tensor(t.values, t.shape)] as [string, tf.Tensor]) });
}

describe('SgdMomentum.state / loadState', () => {
  it('k steps, snapshot, restore into a fresh optimizer over fresh variables, continue = uninterrupted, to the bit', () => {
    const STEPS = 7;
    const straight = model();
    for (let k = 0; k < STEPS; k++) step(straight, k);
    const expected = weights(straight.variables);
    for (const k of [0, 1, 4]) {
      const before = tf.memory().numTensors;
      const first = model();
      for (let i = 0; i < k; i++) step(first, i);
      const snapshot = first.optimizer.state();
      expect(snapshot.format).toBe(SGD_STATE_FORMAT);
      expect(snapshot.variables).toEqual(NAMES);
      expect(snapshot.momentum.map(([n]) => n)).toEqual(k === 0 ? [] : NAMES);
      const load = throughFile(snapshot);
      const saved = Object.fromEntries(NAMES.map((n, i) => [n, first.variables[i]!.arraySync() as number[]]));
      first.optimizer.dispose();
      tf.dispose(first.variables);

      const resumed = model(saved);
      const state = load();
      resumed.optimizer.loadState(state);
      tf.dispose(state.momentum.map(([, t]) => t)); // loadState copied them
      for (let i = k; i < STEPS; i++) step(resumed, i);
      expect(weights(resumed.variables)).toEqual(expected);
      resumed.optimizer.dispose();
      tf.dispose(resumed.variables);
      expect(tf.memory().numTensors).toBe(before);
    }
    straight.optimizer.dispose();
    tf.dispose(straight.variables);
  });

  it('a snapshot keeps its values when the optimizer steps on', () => {
    const m = model();
    step(m, 0);
    const snapshot = m.optimizer.state();
    const values = snapshot.momentum.map(([, t]) => Array.from(t.dataSync()));
    step(m, 1);
    expect(snapshot.momentum.map(([, t]) => Array.from(t.dataSync()))).toEqual(values);
    expect(values[1]!.some((v) => v !== 0)).toBe(true);
    tf.dispose(snapshot.momentum.map(([, t]) => t));
    m.optimizer.dispose();
    tf.dispose(m.variables);
  });

  it('refuses a wrong state, naming the field, and keeps its buffers', () => {
    const m = model();
    step(m, 0);
    const good = m.optimizer.state();
    const [, weight] = good.momentum[0]!;
    const [, bias] = good.momentum[1]!;
    const target = model();
    step(target, 0);
    step(target, 1);
    const kept = target.optimizer.state();
    const load = (patch: Partial<Record<keyof SgdState, unknown>>) => () => target.optimizer.loadState({ ...good, ...patch } as SgdState);
    expect(load({ format: 2 })).toThrow('SgdMomentum.loadState: state.format must be 1 (the only SgdState format this version reads), got 2');
    expect(load({ variables: ['layer.weight'] })).toThrow('SgdMomentum.loadState: state.variables lists 1 variables, this optimizer has 2');
    expect(load({ variables: ['layer.weight', 'layer.b'] })).toThrow("SgdMomentum.loadState: state.variables[1] is 'layer.b', this optimizer's variable 1 is 'layer.bias'");
    expect(load({ momentum: [['layer.w', weight]] })).toThrow("SgdMomentum.loadState: state.momentum names 'layer.w', which is not one of this optimizer's variables");
    expect(load({ momentum: [['layer.bias', bias], ['layer.bias', bias]] })).toThrow("SgdMomentum.loadState: state.momentum lists 'layer.bias' twice");
    expect(load({ momentum: [['layer.bias', weight]] })).toThrow("SgdMomentum.loadState: state.momentum 'layer.bias' has shape [3,2], the variable [2]");
    const ints = tf.tensor1d([1, 2], 'int32');
    expect(load({ momentum: [['layer.bias', ints]] })).toThrow("SgdMomentum.loadState: state.momentum 'layer.bias' is int32, must be float32");
    const plain = new SgdMomentum(target.variables, { names: NAMES });
    expect(() => plain.loadState(good)).toThrow('SgdMomentum.loadState: state.momentum has 2 buffers but this optimizer has momentum 0');
    // nothing changed by the failed loads
    const after = target.optimizer.state();
    expect(after.momentum.map(([n, t]) => [n, Array.from(t.dataSync())])).toEqual(kept.momentum.map(([n, t]) => [n, Array.from(t.dataSync())]));
    tf.dispose([ints, ...[good, kept, after].flatMap((s) => s.momentum.map(([, t]) => t))]);
    for (const x of [m, target]) {
      x.optimizer.dispose();
      tf.dispose(x.variables);
    }
  });

  it('validates the names option', () => {
    const v = [tf.variable(tf.zeros([2])), tf.variable(tf.zeros([3]))];
    expect(() => new SgdMomentum(v, { names: ['a'] })).toThrow("SgdMomentum: option 'names' has 1 names for 2 variables");
    expect(() => new SgdMomentum(v, { names: ['a', 'a'] })).toThrow("SgdMomentum: option 'names' lists 'a' twice");
    // default: the variables' own names
    expect(new SgdMomentum(v).state().variables).toEqual(v.map((x) => x.name));
    tf.dispose(v);
  });
});
