/**
 * SGD with momentum and weight decay, with PyTorch's update rule (what mmdetection's configs are
 * tuned for): g' = g + wd * w;  v = momentum * v + g';  w = w - lr * v.
 * The learning rate is passed to every step, so schedules stay outside the optimizer.
 */
import * as tf from '@tensorflow/tfjs-core';
import { checkNumber, rejectUnknownOptions } from './options.js';

export interface Optimizer {
  /** Applies one update; `grads[i]` is the gradient of `variables[i]`. Does not dispose grads. */
  step(grads: readonly tf.Tensor[], lr: number): void;
  dispose(): void;
}

export interface SgdOptions {
  momentum?: number;
  weightDecay?: number;
  /** Variables for which this returns false get no weight decay (e.g. norm and bias terms). */
  decay?: (variable: tf.Variable) => boolean;
  /**
   * One unique name per variable, used by `state()` / `loadState()` to match momentum buffers to
   * variables. Default: the variables' own `name`s, which tfjs numbers by creation order, so pass
   * stable names (e.g. a model's state-dict keys) when a state must load into another process.
   */
  names?: readonly string[];
}

/** Version of `SgdState`; `loadState` rejects any other. */
export const SGD_STATE_FORMAT = 1;

/**
 * The state of an `SgdMomentum` between steps: JSON-able data plus named tensors (the momentum
 * buffers). What a checkpoint needs so that a resumed run updates the weights as an uninterrupted one.
 */
export interface SgdState {
  format: typeof SGD_STATE_FORMAT;
  /** The optimizer's variable names in order (`SgdOptions.names`); `loadState` requires the same list. */
  variables: string[];
  /**
   * Momentum buffer per variable name, for the variables that have one (a buffer is created by a
   * variable's first update with momentum > 0). float32, the variable's shape.
   */
  momentum: Array<[string, tf.Tensor]>;
}

export class SgdMomentum implements Optimizer {
  private readonly velocity: (tf.Variable | undefined)[];
  private readonly momentum: number;
  private readonly decayRates: number[];
  private readonly names: readonly string[];

  /** The optimizer owns its momentum buffers (free them with `dispose`), not the variables. */
  constructor(
    readonly variables: readonly tf.Variable[],
    options: SgdOptions = {},
  ) {
    rejectUnknownOptions('SgdMomentum', options, ['momentum', 'weightDecay', 'decay', 'names']);
    const { momentum = 0, weightDecay = 0, decay = () => true, names = variables.map((v) => v.name) } = options;
    if (names.length !== variables.length) throw new Error(`SgdMomentum: option 'names' has ${names.length} names for ${variables.length} variables`);
    const duplicate = names.find((n, i) => names.indexOf(n) !== i);
    if (duplicate !== undefined) throw new Error(`SgdMomentum: option 'names' lists '${duplicate}' twice`);
    this.names = [...names];
    checkNumber('SgdMomentum', 'momentum', momentum, 0);
    checkNumber('SgdMomentum', 'weightDecay', weightDecay, 0);
    this.momentum = momentum;
    this.decayRates = variables.map((v) => (decay(v) ? weightDecay : 0));
    this.velocity = variables.map(() => undefined);
  }

  step(grads: readonly tf.Tensor[], lr: number): void {
    if (grads.length !== this.variables.length) {
      throw new Error(`SgdMomentum.step: got ${grads.length} gradients for ${this.variables.length} variables`);
    }
    checkNumber('SgdMomentum.step', 'lr', lr, 0);
    this.variables.forEach((variable, i) => {
      const grad = grads[i]!;
      if (!tf.util.arraysEqual(grad.shape, variable.shape)) {
        throw new Error(`SgdMomentum.step: gradient shape [${grad.shape}] does not match variable '${variable.name}' [${variable.shape}]`);
      }
      tf.tidy(() => {
        const decayed = this.decayRates[i]! > 0 ? tf.add(grad, tf.mul(variable, this.decayRates[i]!)) : grad;
        let direction = decayed;
        if (this.momentum > 0) {
          const previous = this.velocity[i];
          const next = previous === undefined ? decayed : tf.add(tf.mul(previous, this.momentum), decayed);
          if (previous === undefined) this.velocity[i] = tf.variable(next, false, `${variable.name}/momentum`);
          else previous.assign(next);
          direction = next;
        }
        variable.assign(tf.sub(variable, tf.mul(direction, lr)));
      });
    });
  }

  /**
   * A snapshot of the momentum buffers. The tensors are new handles the caller owns and must
   * dispose; they keep the values of this moment (later steps do not change them).
   */
  state(): SgdState {
    const momentum: Array<[string, tf.Tensor]> = [];
    this.velocity.forEach((v, i) => {
      if (v !== undefined) momentum.push([this.names[i]!, tf.clone(v)]);
    });
    return { format: SGD_STATE_FORMAT, variables: [...this.names], momentum };
  }

  /**
   * Replaces the momentum buffers by those of `state` (copied; the caller keeps its tensors).
   * Throws, naming the field, on another format version, another variable list, an unknown or
   * repeated buffer name, a shape or dtype that is not the variable's, or buffers for an optimizer
   * without momentum. Nothing changes when it throws.
   */
  loadState(state: SgdState): void {
    const where = 'SgdMomentum.loadState';
    if (state === null || typeof state !== 'object') throw new Error(`${where}: state must be an object, got ${String(state)}`);
    if (state.format !== SGD_STATE_FORMAT) {
      throw new Error(`${where}: state.format must be ${SGD_STATE_FORMAT} (the only SgdState format this version reads), got ${JSON.stringify(state.format)}`);
    }
    if (!Array.isArray(state.variables)) throw new Error(`${where}: state.variables must be an array of names`);
    if (state.variables.length !== this.names.length) {
      throw new Error(`${where}: state.variables lists ${state.variables.length} variables, this optimizer has ${this.names.length}`);
    }
    state.variables.forEach((name, i) => {
      if (name !== this.names[i]) throw new Error(`${where}: state.variables[${i}] is '${String(name)}', this optimizer's variable ${i} is '${this.names[i]}'`);
    });
    if (!Array.isArray(state.momentum)) throw new Error(`${where}: state.momentum must be an array of [name, tensor]`);
    if (this.momentum === 0 && state.momentum.length > 0) throw new Error(`${where}: state.momentum has ${state.momentum.length} buffers but this optimizer has momentum 0`);
    const index = new Map(this.names.map((n, i) => [n, i]));
    const incoming = new Map<number, tf.Tensor>();
    for (const entry of state.momentum) {
      const [name, tensor] = Array.isArray(entry) ? entry : [undefined, undefined];
      const i = typeof name === 'string' ? index.get(name) : undefined;
      if (i === undefined) throw new Error(`${where}: state.momentum names '${String(name)}', which is not one of this optimizer's variables`);
      if (incoming.has(i)) throw new Error(`${where}: state.momentum lists '${name}' twice`);
      if (!(tensor instanceof tf.Tensor) || tensor.isDisposed) throw new Error(`${where}: state.momentum '${name}' is not a live tensor`);
      const variable = this.variables[i]!;
      if (tensor.dtype !== 'float32') throw new Error(`${where}: state.momentum '${name}' is ${tensor.dtype}, must be float32`);
      if (!tf.util.arraysEqual(tensor.shape, variable.shape)) {
        throw new Error(`${where}: state.momentum '${name}' has shape [${tensor.shape}], the variable [${variable.shape}]`);
      }
      incoming.set(i, tensor);
    }
    this.dispose();
    for (const [i, tensor] of incoming) this.velocity[i] = tf.variable(tensor, false, `${this.variables[i]!.name}/momentum`);
  }

  dispose(): void {
    for (const v of this.velocity) v?.dispose();
    this.velocity.fill(undefined);
  }
}
