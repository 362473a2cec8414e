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
}

export class SgdMomentum implements Optimizer {
  private readonly velocity: (tf.Variable | undefined)[];
  private readonly momentum: number;
  private readonly decayRates: number[];

  /** The optimizer owns its momentum buffers (free them with `dispose`), not the variables. */
  constructor(
    readonly variables: readonly tf.Variable[],
    options: SgdOptions = {},
  ) {
    rejectUnknownOptions('SgdMomentum', options, ['momentum', 'weightDecay', 'decay']);
    const { momentum = 0, weightDecay = 0, decay = () => true } = options;
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

  dispose(): void {
    for (const v of this.velocity) v?.dispose();
    this.velocity.fill(undefined);
  }
}
