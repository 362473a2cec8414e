/**
 * One training iteration: loss terms -> gradients -> (clip) -> optimizer update. The terms are
 * read back and checked before any weight changes, so a NaN/Inf stops training with the weights
 * of the last good iteration intact.
 */
import * as tf from '@tensorflow/tfjs-core';
import { installTrainingKernels, trainingKernelsInstalled } from '../install.js';
import { clipByGlobalNorm } from './clip.js';
import { rejectUnknownOptions } from './options.js';
import type { Optimizer } from './sgd.js';

export class NonFiniteLossError extends Error {
  override readonly name = 'NonFiniteLossError';
  constructor(
    readonly iteration: number,
    readonly term: string,
    readonly value: number,
  ) {
    super(`iteration ${iteration}: loss term '${term}' is ${value}; weights were not updated`);
  }
}

export interface TrainStepOptions {
  /** Returns the named scalar loss terms; the total is their sum. Runs inside a tidy. */
  lossFn: () => Record<string, tf.Scalar>;
  variables: readonly tf.Variable[];
  optimizer: Optimizer;
  lr: number;
  /** Iteration index, named in NonFiniteLossError (default 0). */
  iteration?: number;
  /** Clip gradients to this global norm (default: no clipping). */
  clipGradNorm?: number;
}

export interface TrainStepResult {
  /** Each term's value and `total`, as numbers. */
  losses: Record<string, number>;
  /** Global gradient norm before clipping (only computed when clipping). */
  gradNorm?: number;
}

const STEP_OPTIONS = ['lossFn', 'variables', 'optimizer', 'lr', 'iteration', 'clipGradNorm'] as const;

export function trainStep(options: TrainStepOptions): TrainStepResult {
  rejectUnknownOptions('trainStep', options, STEP_OPTIONS);
  const { lossFn, variables, optimizer, lr, iteration = 0, clipGradNorm } = options;
  if (variables.length === 0) throw new Error("trainStep: option 'variables' is empty");
  // The trainer sets up what training needs itself, so no caller depends on an import side effect.
  if (!trainingKernelsInstalled()) installTrainingKernels();

  let terms: Record<string, tf.Scalar> = {};
  const { value: total, grads } = tf.variableGrads(() => {
    terms = lossFn();
    const names = Object.keys(terms);
    if (names.length === 0) throw new Error('trainStep: lossFn returned no loss terms');
    Object.values(terms).forEach((t) => tf.keep(t));
    return tf.addN(Object.values(terms)) as tf.Scalar;
  }, variables as tf.Variable[]);

  const ordered = variables.map((v) => grads[v.name]!);
  const release = (): void => tf.dispose([total, ...Object.values(terms), ...Object.values(grads)]);
  const losses: Record<string, number> = {};
  try {
    for (const [name, t] of Object.entries(terms)) {
      if (t.size !== 1) throw new Error(`trainStep: loss term '${name}' has shape [${t.shape}], expected a scalar`);
      losses[name] = t.dataSync()[0]!;
      if (!Number.isFinite(losses[name])) throw new NonFiniteLossError(iteration, name, losses[name]);
    }
    losses.total = total.dataSync()[0]!;
    if (!Number.isFinite(losses.total)) throw new NonFiniteLossError(iteration, 'total', losses.total);
  } catch (error) {
    release();
    throw error;
  }

  let gradNorm: number | undefined;
  if (clipGradNorm !== undefined) {
    const clipped = clipByGlobalNorm(ordered, clipGradNorm);
    gradNorm = clipped.norm;
    try {
      optimizer.step(clipped.grads, lr);
    } finally {
      tf.dispose(clipped.grads);
      release();
    }
  } else {
    try {
      optimizer.step(ordered, lr);
    } finally {
      release();
    }
  }
  return gradNorm === undefined ? { losses } : { losses, gradNorm };
}
