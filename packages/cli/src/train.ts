/**
 * The training run behind `hpf train`: detector from the registry, SGD with momentum, linear
 * warm-up and step decay, a seeded data order that is a pure function of (seed, epoch), an atomic
 * checkpoint at every epoch end (and every `checkpointEvery` iterations), exact `resume`, and a
 * COCO evaluation on the validation split at the end.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { createLrSchedule, NonFiniteLossError, SgdMomentum, trainStep } from '@hpf/engine';
import { createBatchLoader, readCocoDataset, writeFileAtomic, type CocoDataset } from '@hpf/data';
import type { CocoStats } from '@hpf/eval';
import type { Detector } from '@hpf/fpn';
import { assignVariables, readCheckpoint, writeCheckpoint } from './checkpoint.js';
import { resolveData, type DataSource } from './data-source.js';
import { detectorEntry, isProgressAware, loadDetectorFactory, type CommonDetectorOptions } from './registry.js';
import type { FocusState } from '@hpf/loss';
import { detectorFocus, focusStateOf } from './focus-state.js';
import { sgdCheckpointParts, sgdStateOf, type SgdStateMeta } from './sgd-state.js';
import { evaluateDetector } from './evaluate.js';
import { applyInitialWeights, backboneOption, checkInitialWeights } from './initial-weights.js';

/** `hpf` as the adapters take it: false = published loss, true = HPF, an object overrides HPF options. */
export type HpfSetting = boolean | Record<string, unknown>;

export interface TrainOptions {
  detector: string;
  hpf: HpfSetting;
  /** `digits-det:quick`, `digits-det:full` or a COCO root with train/ and val/. */
  data: string;
  out: string;
  steps: number;
  batchSize: number;
  /** Square network input; default: the width of the first training image. */
  inputSize?: number;
  lr: number;
  /** Default min(100, steps / 4). */
  warmupIters?: number;
  warmupRatio: number;
  /** Iterations at which the learning rate is multiplied by lrGamma; default 2/3 and 11/12 of steps (mmdetection 1x). */
  lrSteps?: number[];
  lrGamma: number;
  momentum: number;
  weightDecay: number;
  clipGradNorm?: number;
  seed: number;
  backbone: string;
  /** Pretrained ResNet (safetensors); --load-from: a whole detector. See initial-weights.ts. */
  backboneWeights?: string;
  loadFrom?: string;
  /** mmdetection's frozen_stages / norm_eval; defaults depend on pretrained weights (initial-weights.ts). */
  frozenStages?: number;
  normEval?: boolean;
  inputNorm?: 'imagenet' | 'none';
  neckChannels?: number;
  featChannels?: number;
  stackedConvs?: number;
  /** Apply the registry's small-input prior sizes (both hpf modes); 'auto' = when inputSize <= 256. */
  smallInput: boolean | 'auto';
  /** Also checkpoint every N iterations (0: only at epoch ends and at the end). */
  checkpointEvery: number;
  resume: boolean;
  evaluate: boolean;
  /** COCO AP on the validation split every N iterations during training (0: only at the end). */
  valEvery?: number;
  flipProbability: number;
  /** Where digits-det sets are generated (default ./runs/data). */
  dataCache?: string;
  /** Extra adapter options (e.g. from --detector-option key=value). */
  detectorOptions?: Record<string, unknown>;
}

export const TRAIN_DEFAULTS = {
  steps: 300,
  batchSize: 8,
  lr: 0.01,
  warmupRatio: 0.1,
  lrGamma: 0.1,
  momentum: 0.9,
  weightDecay: 1e-4,
  seed: 0,
  backbone: 'resnet18-mini',
  smallInput: 'auto',
  checkpointEvery: 0,
  resume: false,
  evaluate: true,
  valEvery: 0,
  flipProbability: 0.5,
} as const satisfies Partial<TrainOptions>;

/** One iteration's record: what the progress bar shows and what the report plots. */
export interface IterationRecord {
  iteration: number;
  lr: number;
  losses: Record<string, number>;
  gammas: number[];
  positives: number[];
}

/** COCO AP on the validation split after `iteration` iterations (the curves of a run's report). */
export interface ValidationRecord {
  iteration: number;
  ap: number;
  ap50: number;
  ap75: number;
}

export interface ProgressEvent extends IterationRecord {
  steps: number;
  epoch: number;
  imagesPerSecond: number;
  etaSeconds: number;
}

export interface TrainHooks {
  onStart?: (info: { startIteration: number; steps: number; detector: string; resumedFrom?: string }) => void;
  onIteration?: (event: ProgressEvent) => void;
  onCheckpoint?: (info: { iteration: number; path: string }) => void;
  log?: (line: string) => void;
  /** Aborting stops after the current iteration with a checkpoint (Ctrl-C). */
  signal?: AbortSignal;
}

/**
 * The checkpoint header. Format 2: `focus` is @hpf/loss's `FocusState`, `optimizer` the JSON part
 * of @hpf/engine's `SgdState` (buffers stored as tensors `momentum/<variable name>`). Format 1
 * (before those APIs) is still read: see focus-state.ts and sgd-state.ts.
 */
export interface CheckpointMeta {
  format: typeof CHECKPOINT_FORMAT;
  iteration: number;
  options: TrainOptions;
  detectorOptions: CommonDetectorOptions;
  categories: Array<{ id: number; name: string }>;
  inputSize: number;
  focus: FocusState | null;
  optimizer: SgdStateMeta;
  history: IterationRecord[];
  /** Validation during training (absent in checkpoints written before --val-every). */
  validations?: ValidationRecord[];
  trainSeconds: number;
}

export const CHECKPOINT_FORMAT = 2;
const READABLE_FORMATS = [1, 2];

export interface TrainResult {
  detector: string;
  hpf: HpfSetting;
  seed: number;
  steps: number;
  batchSize: number;
  inputSize: number;
  backend: string;
  trainSeconds: number;
  /** COCO stats on the validation split (null without evaluation). */
  stats: CocoStats | null;
  history: IterationRecord[];
  /** --val-every evaluations, in iteration order; the final evaluation is `stats` (absent in results written before --val-every). */
  validations?: ValidationRecord[];
  detectorOptions: CommonDetectorOptions;
  /** true when the run was stopped by the signal before `steps`. */
  interrupted: boolean;
  checkpoint: string;
}

export class TrainingStoppedError extends Error {
  override readonly name = 'TrainingStoppedError';
  constructor(
    message: string,
    readonly iteration: number,
    readonly term: string | undefined,
  ) {
    super(message);
  }
}

export const CHECKPOINT_FILE = 'checkpoint.hpf';
export const RESULT_FILE = 'result.json';

export function checkpointPath(out: string): string {
  return join(out, CHECKPOINT_FILE);
}

/**
 * The adapter options a run uses: common options + small-input override + schedule-dependent
 * options (`epochs`: the run's length in epochs) + user extras.
 */
export function detectorOptionsFor(options: TrainOptions, numClasses: number, inputSize: number, epochs?: number): CommonDetectorOptions {
  const entry = detectorEntry(options.detector);
  const small = options.smallInput === 'auto' ? inputSize <= 256 : options.smallInput;
  const common: CommonDetectorOptions = { numClasses, backbone: backboneOption(options), hpf: options.hpf, seed: options.seed };
  if (options.neckChannels !== undefined) common.neckChannels = options.neckChannels;
  if (options.featChannels !== undefined) common.featChannels = options.featChannels;
  if (options.stackedConvs !== undefined) common.stackedConvs = options.stackedConvs;
  const scheduled = entry.scheduleOptions !== undefined && epochs !== undefined ? entry.scheduleOptions({ epochs }) : {};
  return { ...common, ...(small ? entry.smallInput : {}), ...scheduled, ...(options.detectorOptions ?? {}) };
}

export function lrScheduleFor(options: TrainOptions): (iteration: number) => number {
  const { steps } = options;
  return createLrSchedule({
    baseLr: options.lr,
    warmupIters: options.warmupIters ?? Math.min(100, Math.floor(steps / 4)),
    warmupRatio: options.warmupRatio,
    steps: options.lrSteps ?? [Math.round((steps * 2) / 3), Math.round((steps * 11) / 12)],
    gamma: options.lrGamma,
  });
}

export function validateTrainOptions(o: TrainOptions): void {
  const positiveInt = (name: string, v: number | undefined): void => {
    if (v !== undefined && !(Number.isInteger(v) && v > 0)) throw new Error(`--${name} must be a positive integer, got ${v}`);
  };
  positiveInt('steps', o.steps);
  positiveInt('batch-size', o.batchSize);
  positiveInt('input-size', o.inputSize);
  if (!(o.lr > 0)) throw new Error(`--lr must be > 0, got ${o.lr}`);
  if (!(o.checkpointEvery >= 0 && Number.isInteger(o.checkpointEvery))) throw new Error(`--checkpoint-every must be an integer >= 0, got ${o.checkpointEvery}`);
  if (o.valEvery !== undefined && !(o.valEvery >= 0 && Number.isInteger(o.valEvery))) throw new Error(`--val-every must be an integer >= 0, got ${o.valEvery}`);
  if (!Number.isInteger(o.seed)) throw new Error(`--seed must be an integer, got ${o.seed}`);
  checkInitialWeights(o);
  detectorEntry(o.detector);
}

function sameRunOptions(a: TrainOptions, b: TrainOptions): string | undefined {
  // Options that may differ on resume: the ones that do not change the result.
  const volatile = new Set(['resume', 'out', 'evaluate', 'valEvery', 'dataCache', 'checkpointEvery']);
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (volatile.has(key)) continue;
    const va = JSON.stringify((a as unknown as Record<string, unknown>)[key]);
    const vb = JSON.stringify((b as unknown as Record<string, unknown>)[key]);
    if (va !== vb) return `${key}: checkpoint has ${va}, now ${vb}`;
  }
  return undefined;
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

export async function buildDetector(name: string, detectorOptions: CommonDetectorOptions): Promise<Detector> {
  const factory = await loadDetectorFactory(name);
  return factory(detectorOptions);
}

/** Restores model weights (and buffers) from a checkpoint file into `detector`. */
export function loadModelState(path: string, detector: Detector): CheckpointMeta {
  const file = readCheckpoint<CheckpointMeta>(path);
  assignVariables(path, file, detector.model.stateDict().map(([n, v]) => [`model/${n}`, v] as const));
  return file.meta;
}

export async function runTraining(options: TrainOptions, hooks: TrainHooks = {}): Promise<TrainResult> {
  validateTrainOptions(options);
  const log = hooks.log ?? (() => {});
  const out = resolve(options.out);
  mkdirSync(out, { recursive: true });
  const ckptPath = checkpointPath(out);
  const cacheOptions = options.dataCache === undefined ? { log } : { log, cacheDir: options.dataCache };
  const source: DataSource = resolveData(options.data, cacheOptions);
  const train = readCocoDataset(source.trainDir);
  const inputSize = options.inputSize ?? train.images[0]?.width ?? 0;
  if (inputSize <= 0) throw new Error(`${source.trainDir}: the training split has no images`);
  // Batches per epoch as the loader below counts them (dropLast).
  const epochs = Math.ceil(options.steps / Math.max(1, Math.floor(train.images.length / options.batchSize)));
  const detectorOptions = detectorOptionsFor(options, train.categories.length, inputSize, epochs);

  if (!options.resume && existsSync(ckptPath)) {
    throw new Error(`${ckptPath} exists: pass --resume to continue that run, or choose another --out`);
  }
  // The validation split is read and checked before training, so a broken one costs no training.
  const valEvery = options.valEvery ?? 0;
  const val = options.evaluate || valEvery > 0 ? readCocoDataset(source.valDir) : undefined;
  if (val !== undefined) checkSameCategories(train, val, source.valDir);
  const detector = await buildDetector(options.detector, detectorOptions);
  // Pretrained starting weights; a resumed run takes its own from the checkpoint instead.
  if (!(options.resume && existsSync(ckptPath))) {
    try {
      const note = applyInitialWeights(detector, options);
      if (note !== undefined) log(note);
    } catch (error) {
      detector.dispose();
      throw error;
    }
  }
  const variables = detector.trainableVariables();
  const names = trainableNames(detector, variables);
  const optimizer = new SgdMomentum(variables, { momentum: options.momentum, weightDecay: options.weightDecay, names });
  const focus = detectorFocus(detector);
  const schedule = lrScheduleFor(options);
  const loader = createBatchLoader(train, {
    batchSize: options.batchSize,
    inputSize,
    seed: options.seed,
    flipProbability: options.flipProbability,
    dropLast: true,
  });

  let iteration = 0;
  let history: IterationRecord[] = [];
  let validations: ValidationRecord[] = [];
  let previousSeconds = 0;
  let resumedFrom: string | undefined;
  try {
    if (options.resume && existsSync(ckptPath)) {
      const file = readCheckpoint<CheckpointMeta>(ckptPath);
      const format = file.meta.format as number;
      if (!READABLE_FORMATS.includes(format)) {
        throw new Error(`${ckptPath}: checkpoint format ${JSON.stringify(format)} is not one this hpf reads (${READABLE_FORMATS.join(', ')})`);
      }
      const mismatch = sameRunOptions(file.meta.options, options);
      if (mismatch !== undefined) throw new Error(`${ckptPath}: --resume with different options (${mismatch})`);
      assignVariables(ckptPath, file, detector.model.stateDict().map(([n, v]) => [`model/${n}`, v] as const));
      const sgd = sgdStateOf(ckptPath, format, file.meta.optimizer, file.tensors, names);
      try {
        optimizer.loadState(sgd);
      } catch (error) {
        throw new Error(`${ckptPath}: ${(error as Error).message}`, { cause: error });
      } finally {
        tf.dispose(sgd.momentum.map(([, t]) => t));
      }
      if (focus !== undefined && file.meta.focus !== null) {
        try {
          focus.loadState(focusStateOf(ckptPath, format, file.meta.focus, focus));
        } catch (error) {
          throw new Error(`${ckptPath}: ${(error as Error).message}`, { cause: error });
        }
      }
      iteration = file.meta.iteration;
      history = file.meta.history;
      validations = file.meta.validations ?? [];
      previousSeconds = file.meta.trainSeconds;
      resumedFrom = ckptPath;
      log(`resuming from ${ckptPath} at iteration ${iteration}`);
    }
    hooks.onStart?.({ startIteration: iteration, steps: options.steps, detector: options.detector, ...(resumedFrom === undefined ? {} : { resumedFrom }) });

    const started = performance.now();
    const startIteration = iteration;
    const elapsed = (): number => previousSeconds + (performance.now() - started) / 1000;
    const save = (): void => {
      const sgd = sgdCheckpointParts(optimizer);
      const meta: CheckpointMeta = {
        format: CHECKPOINT_FORMAT,
        iteration,
        options,
        detectorOptions,
        categories: train.categories.map((c) => ({ id: c.id, name: c.name })),
        inputSize,
        focus: focus === undefined ? null : focus.state(),
        optimizer: sgd.meta,
        history,
        validations,
        trainSeconds: elapsed(),
      };
      const tensors: Array<readonly [string, tf.Tensor]> = [
        ...detector.model.stateDict().map(([n, v]) => [`model/${n}`, v] as const),
        ...sgd.tensors,
      ];
      try {
        writeCheckpoint(ckptPath, meta, tensors);
      } finally {
        tf.dispose(sgd.tensors.map(([, t]) => t));
      }
      hooks.onCheckpoint?.({ iteration, path: ckptPath });
    };

    const perEpoch = loader.batchesPerEpoch;
    let interrupted = false;
    while (iteration < options.steps) {
      // A training step is synchronous: yield once per iteration so signal handlers (Ctrl-C) run.
      await new Promise<void>((ok) => setImmediate(ok));
      if (hooks.signal?.aborted) {
        interrupted = true;
        break;
      }
      const epoch = Math.floor(iteration / perEpoch);
      // The batch at position (iteration mod perEpoch) of this epoch's plan: the same batch an
      // uninterrupted run would see, whatever iteration training resumed at.
      const plan = loader.plan(epoch)[iteration % perEpoch]!;
      if (isProgressAware(detector)) detector.setEpoch(epoch);
      const batch = loader.load(plan);
      const seen: { levels: ReadonlyArray<{ gamma: number; numPositives: number }> } = { levels: [] };
      let losses: Record<string, number>;
      const lr = schedule(iteration);
      try {
        const step = trainStep({
          lossFn: () => {
            const result = detector.computeLoss(batch.images, batch.targets);
            seen.levels = result.stats.levels;
            result.total.dispose();
            return result.losses;
          },
          variables,
          optimizer,
          lr,
          iteration,
          ...(options.clipGradNorm === undefined ? {} : { clipGradNorm: options.clipGradNorm }),
        });
        losses = step.losses;
      } catch (error) {
        if (error instanceof NonFiniteLossError) {
          const kept = existsSync(ckptPath) ? `the last checkpoint (${ckptPath}) is intact` : 'no checkpoint was written yet';
          throw new TrainingStoppedError(
            `training stopped: non-finite loss at iteration ${error.iteration}: loss term '${error.term}' is ${error.value} (lr ${lr}); weights were not updated; ${kept}`,
            error.iteration,
            error.term,
          );
        }
        throw error;
      } finally {
        batch.images.dispose();
      }
      const record: IterationRecord = {
        iteration,
        lr,
        losses,
        gammas: seen.levels.map((l) => l.gamma),
        positives: seen.levels.map((l) => l.numPositives),
      };
      history.push(record);
      iteration++;
      const seconds = (performance.now() - started) / 1000;
      const done = iteration - startIteration;
      const rate = done / Math.max(seconds, 1e-9);
      hooks.onIteration?.({
        ...record,
        steps: options.steps,
        epoch,
        imagesPerSecond: rate * options.batchSize,
        etaSeconds: (options.steps - iteration) / rate,
      });
      if (val !== undefined && valEvery > 0 && iteration % valEvery === 0 && iteration < options.steps) {
        const { stats } = (await evaluateDetector(detector, val, { batchSize: options.batchSize, inputSize })).result;
        validations.push({ iteration, ap: stats.AP, ap50: stats.AP50, ap75: stats.AP75 });
        log(`iteration ${iteration}: val AP ${(100 * stats.AP).toFixed(2)}, AP50 ${(100 * stats.AP50).toFixed(2)}`);
      }
      const epochEnd = iteration % perEpoch === 0;
      const periodic = options.checkpointEvery > 0 && iteration % options.checkpointEvery === 0;
      if (epochEnd || periodic || iteration === options.steps || hooks.signal?.aborted) save();
    }

    const trainSeconds = elapsed();
    let stats: CocoStats | null = null;
    if (!interrupted && options.evaluate && val !== undefined) {
      log('evaluating on the validation split');
      stats = (await evaluateDetector(detector, val, { batchSize: options.batchSize, inputSize })).result.stats;
    }
    const result: TrainResult = {
      detector: options.detector,
      hpf: options.hpf,
      seed: options.seed,
      steps: options.steps,
      batchSize: options.batchSize,
      inputSize,
      backend: tf.getBackend(),
      trainSeconds,
      stats,
      history,
      validations,
      detectorOptions,
      interrupted,
      checkpoint: ckptPath,
    };
    if (!interrupted) writeFileAtomic(join(out, RESULT_FILE), Buffer.from(JSON.stringify(result)));
    return result;
  } finally {
    optimizer.dispose();
    detector.dispose();
  }
}

export function checkSameCategories(train: CocoDataset, val: CocoDataset, valDir: string): void {
  const a = train.categories.map((c) => c.id).join(',');
  const b = val.categories.map((c) => c.id).join(',');
  if (a !== b) throw new Error(`${valDir}: category ids [${b}] differ from the training split's [${a}]`);
}
