/**
 * The training loop every caller shares (`hpf train`, @hpf/testkit's overfit harness, the benches):
 * momentum SGD through `trainStep`, the detector's epoch before every iteration, a record per
 * iteration, and, through options and hooks, validation every N iterations, atomic checkpoints
 * (epoch ends, every N iterations, the last iteration, on abort) and an exact resume from them.
 * What is specific to a caller (where batches come from, what a validation measures, which run
 * options a checkpoint stores) stays with the caller.
 */
import { existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import type { Detector, DetectorTarget } from '@hpf/dense';
import type { FocusState } from '@hpf/loss';
import { assignVariables, NonFiniteTensorError, readCheckpoint, writeCheckpoint } from './checkpoint.js';
// The main entry by the package's own name, so the built node entry shares its classes.
import { focusStateOf, SgdMomentum, sgdCheckpointParts, sgdStateOf, trainStep, type SgdStateMeta } from '@hpf/engine';

/** One batch: images [N, H, W, 3] float32 and one target per image. */
export interface TrainBatch {
  images: tf.Tensor4D;
  targets: readonly DetectorTarget[];
  /** Called once the step is done with the batch (e.g. disposes `images`); absent = the caller keeps it. */
  release?: () => void;
}

/** One iteration's record: what a progress line shows and what a report plots. */
export interface IterationRecord {
  iteration: number;
  lr: number;
  /** Each loss term and `total`. */
  losses: Record<string, number>;
  /** Per pyramid level: the classification loss's gamma (HPF's, or the static one) and positives. */
  gammas: number[];
  positives: number[];
}

/** What a step reports besides its record. */
export interface StepResult extends IterationRecord {
  /** Global gradient norm before clipping (only with clipping). */
  gradNorm?: number;
}

export interface TrainerOptions {
  /** Learning rate of an iteration (e.g. `createLrSchedule`). */
  lr: (iteration: number) => number;
  momentum: number;
  weightDecay?: number;
  clipGradNorm?: number;
  /** The optimizer's variable names (stable names a checkpoint can match; default tfjs's). */
  names?: readonly string[];
}

/**
 * A detector with its optimizer, one training iteration at a time: `fit`'s step, and what a
 * benchmark times when it alternates detectors step by step. Disposes the optimizer, never the
 * detector.
 */
export class Trainer {
  readonly optimizer: SgdMomentum;
  readonly variables: tf.Variable[];

  constructor(
    readonly detector: Detector,
    private readonly options: TrainerOptions,
  ) {
    this.variables = detector.trainableVariables();
    const { momentum, weightDecay, names } = options;
    this.optimizer = new SgdMomentum(this.variables, { momentum, ...(weightDecay === undefined ? {} : { weightDecay }), ...(names === undefined ? {} : { names }) });
  }

  /** Forward, loss, backward, clipping and the SGD update on `batch` (see `trainStep`); throws NonFiniteLossError before any update. */
  step(batch: TrainBatch, iteration: number): StepResult {
    const { detector } = this;
    const lr = this.options.lr(iteration);
    const seen: { levels: ReadonlyArray<{ gamma: number; numPositives: number }> } = { levels: [] };
    const { clipGradNorm } = this.options;
    const result = trainStep({
      lossFn: () => {
        const loss = detector.computeLoss(batch.images, batch.targets);
        seen.levels = loss.stats.levels;
        loss.total.dispose();
        return loss.losses;
      },
      variables: this.variables,
      optimizer: this.optimizer,
      lr,
      iteration,
      ...(clipGradNorm === undefined ? {} : { clipGradNorm }),
    });
    const record: StepResult = {
      iteration,
      lr,
      losses: result.losses,
      gammas: seen.levels.map((l) => l.gamma),
      positives: seen.levels.map((l) => l.numPositives),
    };
    if (result.gradNorm !== undefined) record.gradNorm = result.gradNorm;
    return record;
  }

  dispose(): void {
    this.optimizer.dispose();
  }
}

/** The trainer's part of a checkpoint header; a caller's own fields (`FitCheckpoint.meta`) sit beside it. */
export interface CheckpointHeader<Validation = unknown> {
  format: typeof CHECKPOINT_FORMAT;
  iteration: number;
  focus: FocusState | null;
  optimizer: SgdStateMeta;
  history: IterationRecord[];
  /** Validation records so far (absent in checkpoints written before validation hooks). */
  validations?: Validation[];
  trainSeconds: number;
  /** The tfjs backend that computed it (`tf.getBackend()`; absent before format 3). */
  backend?: string;
}

/**
 * Format 3: format 2 plus `backend`. Format 2: `focus` is @hpf/loss's `FocusState`, `optimizer`
 * the JSON part of `SgdState` (buffers stored as tensors `momentum/<variable name>` beside
 * `model/<name>`). Formats 1 (before those APIs, see focus-state.ts and sgd-state.ts) and 2 are
 * still read; they resume on any backend.
 */
export const CHECKPOINT_FORMAT = 3;
export const READABLE_CHECKPOINT_FORMATS: readonly number[] = [1, 2, 3];

/** A resume on another tfjs backend than the checkpoint's: results match only on the same one. */
export class BackendMismatchError extends Error {
  override readonly name = 'BackendMismatchError';
  constructor(
    readonly path: string,
    readonly stored: string,
    readonly current: string,
  ) {
    super(
      `${path}: the checkpoint was computed on the '${stored}' backend, this process runs '${current}'; ` +
        `a resume reproduces the uninterrupted run only on the same backend (set checkpoint.allowBackendChange to resume anyway)`,
    );
  }
}

/**
 * Parameters or optimizer state went non-finite (e.g. a learning rate that blows the weights up):
 * no checkpoint was written for `iteration`, the previous one is kept.
 */
export class NonFiniteStateError extends Error {
  override readonly name = 'NonFiniteStateError';
  constructor(
    message: string,
    readonly iteration: number,
    readonly tensor: string,
  ) {
    super(message);
  }
}

export interface FitCheckpoint<Meta extends object> {
  path: string;
  /** Also write every N iterations (0: only at epoch ends, after the last iteration and on abort). */
  every: number;
  /** Continue from `path` if it exists. */
  resume: boolean;
  /** The caller's fields of the header (e.g. the run's options), stored beside the trainer's. */
  meta: Meta;
  /** Sees the stored header before anything is restored; throw to refuse the resume (e.g. other options). */
  checkResume?: (stored: CheckpointHeader & Meta) => void;
  /** Resume a checkpoint written on another backend (default: refused with `BackendMismatchError`). */
  allowBackendChange?: boolean;
}

export interface FitValidation<Validation> {
  /** Run every N iterations (not after the last: a caller evaluates the final model itself). */
  every: number;
  run: (iteration: number) => Promise<Validation>;
  /**
   * After a validation is recorded (it is in the checkpoint header from here on): `save(path)`
   * writes the current state as a checkpoint at `path` (e.g. the best so far), `stop()` ends
   * training after this iteration with a checkpoint (early stopping; `FitResult.stoppedEarly`).
   */
  after?: (validation: Validation, control: { save: (path: string) => void; stop: () => void }) => void;
}

/** An iteration as a progress display sees it. */
export interface FitIterationEvent extends StepResult {
  steps: number;
  epoch: number;
  imagesPerSecond: number;
  etaSeconds: number;
}

export interface FitHooks {
  onStart?: (info: { startIteration: number; steps: number; resumedFrom?: string }) => void;
  /** Before each iteration's step, after the detector's `setEpoch` (e.g. a test's own progress). */
  beforeIteration?: (iteration: number) => void;
  onIteration?: (event: FitIterationEvent) => void;
  onCheckpoint?: (info: { iteration: number; path: string }) => void;
  log?: (line: string) => void;
  /**
   * Aborting stops after the current iteration; when checkpointing, the checkpoint then holds
   * every iteration done (the one the result's history ends at).
   */
  signal?: AbortSignal;
}

export interface FitOptions<Meta extends object, Validation> {
  detector: Detector;
  steps: number;
  /** Iterations per epoch: `setEpoch(floor(iteration / iterationsPerEpoch))`, checkpoints at epoch ends. */
  iterationsPerEpoch: number;
  /** The batch of `iteration` (in `epoch`); a pure function of both makes a resumed run see what an uninterrupted one would. */
  batch: (iteration: number, epoch: number) => TrainBatch;
  trainer: Omit<TrainerOptions, 'names'>;
  checkpoint?: FitCheckpoint<Meta>;
  validation?: FitValidation<Validation>;
  hooks?: FitHooks;
}

export interface FitResult<Validation> {
  history: IterationRecord[];
  validations: Validation[];
  /** Seconds of training, including the runs before a resume. */
  trainSeconds: number;
  /** true when the signal stopped it before `steps`. */
  interrupted: boolean;
  /** true when `validation.after` asked to stop before `steps`. */
  stoppedEarly: boolean;
}

/**
 * The trainable variables' state-dict names: stable across processes, unlike tfjs's own variable
 * names (numbered by creation order), so the optimizer state can be matched by name on resume.
 */
function trainableNames(detector: Detector, variables: readonly tf.Variable[]): string[] {
  const byVariable = new Map<tf.Variable, string>(detector.model.stateDict().map(([n, v]) => [v, n]));
  return variables.map((v) => {
    const name = byVariable.get(v);
    if (name === undefined) throw new Error(`trainable variable '${v.name}' is not in the model's state dict, so it could not be checkpointed`);
    return name;
  });
}

/** The model's tensors as a checkpoint names them. */
export function modelTensors(detector: Detector): Array<readonly [string, tf.Variable]> {
  return detector.model.stateDict().map(([n, v]) => [`model/${n}`, v] as const);
}

/** Trains `detector` for `steps` iterations (from a checkpoint's iteration on resume); see the module comment. */
export async function fit<Meta extends object = Record<string, never>, Validation = never>(options: FitOptions<Meta, Validation>): Promise<FitResult<Validation>> {
  const { detector, steps, iterationsPerEpoch, checkpoint, validation, hooks = {} } = options;
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`fit: option 'steps' must be a positive integer, got ${steps}`);
  if (!Number.isInteger(iterationsPerEpoch) || iterationsPerEpoch < 1) throw new Error(`fit: option 'iterationsPerEpoch' must be a positive integer, got ${iterationsPerEpoch}`);
  if (validation !== undefined && !(Number.isInteger(validation.every) && validation.every >= 1)) throw new Error(`fit: option 'validation.every' must be a positive integer, got ${validation.every}`);
  const log = hooks.log ?? (() => {});
  const variables = detector.trainableVariables();
  const names = checkpoint === undefined ? undefined : trainableNames(detector, variables);
  const trainer = new Trainer(detector, { ...options.trainer, ...(names === undefined ? {} : { names }) });

  let iteration = 0;
  let history: IterationRecord[] = [];
  let validations: Validation[] = [];
  let previousSeconds = 0;
  let resumedFrom: string | undefined;
  try {
    if (checkpoint !== undefined && checkpoint.resume && existsSync(checkpoint.path)) {
      const path = checkpoint.path;
      const file = readCheckpoint<CheckpointHeader<Validation> & Meta>(path);
      const format = file.meta.format as number;
      if (!READABLE_CHECKPOINT_FORMATS.includes(format)) {
        throw new Error(`${path}: checkpoint format ${JSON.stringify(format)} is not one this hpf reads (${READABLE_CHECKPOINT_FORMATS.join(', ')})`);
      }
      checkpoint.checkResume?.(file.meta);
      const backend = tf.getBackend();
      if (file.meta.backend !== undefined && file.meta.backend !== backend) {
        if (checkpoint.allowBackendChange !== true) throw new BackendMismatchError(path, file.meta.backend, backend);
        log(`${path}: resuming a checkpoint of the '${file.meta.backend}' backend on '${backend}' (results will differ from an uninterrupted run)`);
      }
      assignVariables(path, file, modelTensors(detector));
      const sgd = sgdStateOf(path, format, file.meta.optimizer, file.tensors, names!);
      try {
        trainer.optimizer.loadState(sgd);
      } catch (error) {
        throw new Error(`${path}: ${(error as Error).message}`, { cause: error });
      } finally {
        tf.dispose(sgd.momentum.map(([, t]) => t));
      }
      const current = detector.state().focus;
      if (current !== null && file.meta.focus !== null) {
        try {
          detector.loadState({ focus: focusStateOf(path, format, file.meta.focus, current) });
        } catch (error) {
          throw new Error(`${path}: ${(error as Error).message}`, { cause: error });
        }
      }
      iteration = file.meta.iteration;
      history = file.meta.history;
      validations = file.meta.validations ?? [];
      previousSeconds = file.meta.trainSeconds;
      resumedFrom = path;
      log(`resuming from ${path} at iteration ${iteration}`);
    }
    hooks.onStart?.({ startIteration: iteration, steps, ...(resumedFrom === undefined ? {} : { resumedFrom }) });

    const started = performance.now();
    const startIteration = iteration;
    // The iteration the file at checkpoint.path holds (a resume's until the first save; saves to
    // other paths, e.g. a best-so-far copy, do not count).
    let savedIteration = resumedFrom === undefined ? -1 : iteration;
    const elapsed = (): number => previousSeconds + (performance.now() - started) / 1000;
    const save = (path: string, meta: Meta): void => {
      const sgd = sgdCheckpointParts(trainer.optimizer);
      const header: CheckpointHeader<Validation> & Meta = {
        format: CHECKPOINT_FORMAT,
        iteration,
        ...meta,
        focus: detector.state().focus,
        optimizer: sgd.meta,
        history,
        validations,
        trainSeconds: elapsed(),
        backend: tf.getBackend(),
      };
      try {
        writeCheckpoint(path, header, [...modelTensors(detector), ...sgd.tensors]);
      } catch (error) {
        if (!(error instanceof NonFiniteTensorError)) throw error;
        const known = path === checkpoint?.path && savedIteration >= 0 ? `, iteration ${savedIteration}` : '';
        const kept = !existsSync(path) ? 'no checkpoint was written' : `the previous checkpoint (${path}${known}) is kept`;
        throw new NonFiniteStateError(
          `training stopped at iteration ${iteration}: tensor '${error.tensor}' is not finite (element ${error.index} is ${error.value}); ${kept}`,
          iteration,
          error.tensor,
        );
      } finally {
        tf.dispose(sgd.tensors.map(([, t]) => t));
      }
      if (path === checkpoint?.path) savedIteration = iteration;
      hooks.onCheckpoint?.({ iteration, path });
    };

    let interrupted = false;
    let stoppedEarly = false;
    while (iteration < steps) {
      // A training step is synchronous: yield once per iteration so signal handlers (Ctrl-C) run.
      await new Promise<void>((ok) => setImmediate(ok));
      if (hooks.signal?.aborted) {
        interrupted = true;
        break;
      }
      const epoch = Math.floor(iteration / iterationsPerEpoch);
      const batch = options.batch(iteration, epoch);
      detector.setEpoch?.(epoch);
      hooks.beforeIteration?.(iteration);
      let record: StepResult;
      try {
        record = trainer.step(batch, iteration);
      } finally {
        batch.release?.();
      }
      // the history keeps the record as checkpoints and result files store it (no gradient norm)
      const { gradNorm: _gradNorm, ...kept } = record;
      history.push(kept);
      iteration++;
      const seconds = (performance.now() - started) / 1000;
      const rate = (iteration - startIteration) / Math.max(seconds, 1e-9);
      hooks.onIteration?.({
        ...record,
        steps,
        epoch,
        imagesPerSecond: rate * batch.images.shape[0],
        etaSeconds: (steps - iteration) / rate,
      });
      if (validation !== undefined && iteration % validation.every === 0 && iteration < steps) {
        const measured = await validation.run(iteration);
        validations.push(measured);
        validation.after?.(measured, {
          save: (path) => {
            if (checkpoint === undefined) throw new Error('fit: validation.after can save only when checkpointing (option checkpoint)');
            save(path, checkpoint.meta);
          },
          stop: () => void (stoppedEarly = true),
        });
      }
      if (checkpoint !== undefined) {
        const epochEnd = iteration % iterationsPerEpoch === 0;
        const periodic = checkpoint.every > 0 && iteration % checkpoint.every === 0;
        if (epochEnd || periodic || iteration === steps || stoppedEarly || hooks.signal?.aborted) save(checkpoint.path, checkpoint.meta);
      }
      if (stoppedEarly) break;
    }
    // A signal is often delivered while a (synchronous) step runs and seen only at the next yield:
    // save the iterations done since the last checkpoint, so the stop loses none of them.
    if (interrupted && checkpoint !== undefined && savedIteration !== iteration && iteration > 0) save(checkpoint.path, checkpoint.meta);
    return { history, validations, trainSeconds: elapsed(), interrupted, stoppedEarly };
  } finally {
    trainer.dispose();
  }
}
