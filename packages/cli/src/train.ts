/**
 * The training run behind `hpf train`: detector from the registry, the data set's seeded batch
 * order (a pure function of (seed, epoch)), SGD with momentum, linear warm-up and step decay, and
 * @hpf/engine's `fit` for the loop, the checkpoints (every epoch end, every `checkpointEvery`
 * iterations), the exact `resume` and the validation every `valEvery` iterations (or
 * `valEveryEpochs` epochs) with best.hpf and `--patience`; a COCO evaluation on the validation
 * split at the end. The run folder's other files (args.json, results.csv, curves) are
 * run-folder.ts's, fed from fit's hooks.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { createLrSchedule, NonFiniteLossError } from '@hpf/engine';
import {
  assignVariables,
  BackendMismatchError,
  fit,
  modelTensors,
  NonFiniteStateError,
  readCheckpoint,
  readCheckpointMeta,
  type CheckpointHeader,
  type FitIterationEvent,
  type IterationRecord,
} from '@hpf/engine/node';
import {
  checkScaleJitter,
  colorJitterRanges,
  createBatchLoader,
  formatSummary,
  writeFileAtomic,
  type CocoDataset,
  type ColorJitterOptions,
} from '@hpf/data';
import type { CocoStats } from '@hpf/eval';
import type { Detector } from '@hpf/dense';
import { readSplit, resolveData, type DataSource } from './data-source.js';
import { detectorEntry, loadDetectorFactory, type CommonDetectorOptions } from './registry.js';
import { evaluateDetector } from './evaluate.js';
import { applyInitialWeights, backboneOption, checkInitialWeights } from './initial-weights.js';
import { bestValidation, earlyStop, type MeasuredAp } from './early-stop.js';
import { checkRunFolder, copyFileAtomic, RunFolder, runArgs } from './run-folder.js';

export type { IterationRecord } from '@hpf/engine/node';

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
  /** Square network input; default: `defaultInputSize` of the training split (a resume: the checkpoint's). */
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
  /** The same every N epochs (instead of valEvery; an epoch is the loader's batches per epoch). */
  valEveryEpochs?: number;
  /** Stop after this many validations in a row without a better val AP (needs valEvery or valEveryEpochs). */
  patience?: number;
  /** A results.csv row (and a progress line when not on a terminal) every N iterations. */
  logEvery?: number;
  flipProbability: number;
  /** Scale jitter `[min, max]` of @hpf/data's batch loader (absent: off). */
  scaleJitter?: [number, number];
  /** Colour jitter (torchvision's ColorJitter) of @hpf/data's batch loader (absent: off). */
  colorJitter?: ColorJitterOptions;
  /** Where digits-det sets are generated (default ./runs/data). */
  dataCache?: string;
  /** Extra adapter options (e.g. from --detector-option key=value). */
  detectorOptions?: Record<string, unknown>;
  /** Resume a checkpoint computed on another tfjs backend (its result then differs from an uninterrupted run). */
  allowBackendChange?: boolean;
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
  logEvery: 25,
  flipProbability: 0.5,
} as const satisfies Partial<TrainOptions>;

/** COCO AP on the validation split after `iteration` iterations (the curves of a run's report). */
export interface ValidationRecord {
  iteration: number;
  ap: number;
  ap50: number;
  ap75: number;
}

/** An iteration as the progress bar sees it (@hpf/engine's fit event). */
export type ProgressEvent = FitIterationEvent;

export interface TrainHooks {
  onStart?: (info: { startIteration: number; steps: number; detector: string; resumedFrom?: string }) => void;
  onIteration?: (event: ProgressEvent) => void;
  onCheckpoint?: (info: { iteration: number; path: string }) => void;
  log?: (line: string) => void;
  /** Aborting stops after the current iteration with a checkpoint (Ctrl-C). */
  signal?: AbortSignal;
}

/** What a run stores in its checkpoint header beside the trainer's fields. */
export interface RunMeta {
  options: TrainOptions;
  detectorOptions: CommonDetectorOptions;
  categories: Array<{ id: number; name: string }>;
  inputSize: number;
}

/**
 * The checkpoint header: @hpf/engine's (format, iteration, focus, optimizer, history, validations,
 * trainSeconds; formats 1 and 2 are read) and the run's own fields.
 */
export type CheckpointMeta = CheckpointHeader<ValidationRecord> & RunMeta;

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
  /** The best validation (during training or the final evaluation) and its checkpoint, best.hpf (with --val-every). */
  best?: MeasuredAp & { checkpoint: string };
  /** Set when --patience ended the run before `steps`. */
  earlyStop?: { iteration: number; patience: number; bestIteration: number; bestAp: number; message: string };
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

/** The default network input is at most this many pixels square (a 4000 px photo would need gigabytes). */
export const MAX_DEFAULT_INPUT_SIZE = 640;
/** Default input sizes are multiples of this: the backbone's coarsest stride, mmdetection's size_divisor. */
export const INPUT_SIZE_DIVISOR = 32;

/**
 * The default square input: the median of the images' longer sides, rounded to a multiple of
 * `INPUT_SIZE_DIVISOR`, between one divisor and `MAX_DEFAULT_INPUT_SIZE`. A typical image, not the
 * first one: one large photo at the head of the list no longer sets the size of every batch.
 */
export function defaultInputSize(images: ReadonlyArray<{ width: number; height: number }>): { size: number; median: number } {
  if (images.length === 0) throw new Error('defaultInputSize: no images');
  const sides = images.map((im) => Math.max(im.width, im.height)).sort((a, b) => a - b);
  const mid = sides.length >> 1;
  const median = sides.length % 2 === 1 ? sides[mid]! : (sides[mid - 1]! + sides[mid]!) / 2;
  const rounded = Math.round(median / INPUT_SIZE_DIVISOR) * INPUT_SIZE_DIVISOR;
  return { size: Math.min(MAX_DEFAULT_INPUT_SIZE, Math.max(INPUT_SIZE_DIVISOR, rounded)), median };
}

/** true for the errors a wasm (or native) backend raises when a tensor does not fit in memory. */
export function isOutOfMemory(error: unknown): boolean {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return /Aborted\(|out of memory|Cannot enlarge memory|Array buffer allocation failed|OOM when allocating|Invalid typed array length/i.test(message);
}

/** The error `hpf train` reports for an out-of-memory `error`: what was asked, and what to change. */
export function outOfMemoryError(error: unknown, inputSize: number, batchSize: number): Error {
  const what = error instanceof Error ? error.message.split('\n')[0] : String(error);
  return new Error(
    `out of memory training at --input-size ${inputSize} with --batch-size ${batchSize} (${tf.getBackend()} backend: ${what}); give a smaller --input-size or --batch-size`,
    { cause: error },
  );
}

/** Creates `out` (if needed) and writes and removes a probe file, so an unwritable folder fails before any work. */
export function checkWritableFolder(out: string): void {
  const probe = join(out, `.hpf-write-test-${process.pid}`);
  try {
    mkdirSync(out, { recursive: true });
    writeFileSync(probe, 'hpf');
    rmSync(probe);
  } catch (error) {
    try {
      rmSync(probe, { force: true });
    } catch {
      // the folder itself is the problem (not a folder, gone): nothing was written
    }
    throw new Error(`--out: cannot write in ${out} (${(error as Error).message}); choose a folder you can write to`, { cause: error });
  }
}

/** The warm-up length and milestones a run uses (the options', or their defaults). */
export function resolvedSchedule(options: TrainOptions): { warmupIters: number; lrSteps: number[] } {
  const { steps } = options;
  return {
    warmupIters: options.warmupIters ?? Math.min(100, Math.floor(steps / 4)),
    lrSteps: options.lrSteps ?? [Math.round((steps * 2) / 3), Math.round((steps * 11) / 12)],
  };
}

export function lrScheduleFor(options: TrainOptions): (iteration: number) => number {
  const { warmupIters, lrSteps } = resolvedSchedule(options);
  return createLrSchedule({ baseLr: options.lr, warmupIters, warmupRatio: options.warmupRatio, steps: lrSteps, gamma: options.lrGamma });
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
  positiveInt('val-every <n>e', o.valEveryEpochs);
  if (o.valEveryEpochs !== undefined && (o.valEvery ?? 0) > 0) throw new Error(`--val-every is given in iterations (${o.valEvery}) and in epochs (${o.valEveryEpochs}e): give one`);
  positiveInt('patience', o.patience);
  if (o.patience !== undefined && !((o.valEvery ?? 0) > 0 || o.valEveryEpochs !== undefined)) throw new Error('--patience counts validations: it needs --val-every');
  positiveInt('log-every', o.logEvery);
  if (!Number.isInteger(o.seed)) throw new Error(`--seed must be an integer, got ${o.seed}`);
  if (o.scaleJitter !== undefined) checkScaleJitter(o.scaleJitter, '--scale-jitter');
  if (o.colorJitter !== undefined) colorJitterRanges(o.colorJitter, '--color-jitter');
  checkInitialWeights(o);
  detectorEntry(o.detector);
}

/** The first option (not a volatile one) that differs between a stored run (`stored`: where it is kept) and this one. */
export function sameRunOptions(a: TrainOptions | Record<string, unknown>, b: TrainOptions | Record<string, unknown>, stored = 'checkpoint'): string | undefined {
  // Options that may differ on resume: the ones that do not change the trained weights (patience
  // only decides where they stop).
  const volatile = new Set(['resume', 'out', 'evaluate', 'valEvery', 'valEveryEpochs', 'patience', 'logEvery', 'dataCache', 'checkpointEvery', 'allowBackendChange']);
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (volatile.has(key)) continue;
    // An option a run folder records as null (off) and one never set are the same run.
    const va = JSON.stringify((a as unknown as Record<string, unknown>)[key] ?? null);
    const vb = JSON.stringify((b as unknown as Record<string, unknown>)[key] ?? null);
    if (va !== vb) return `${key}: ${stored} has ${va}, now ${vb}`;
  }
  return undefined;
}

export async function buildDetector(name: string, detectorOptions: CommonDetectorOptions): Promise<Detector> {
  const factory = await loadDetectorFactory(name);
  return factory(detectorOptions);
}

/** Restores model weights (and buffers) from a checkpoint file into `detector`. */
export function loadModelState(path: string, detector: Detector): CheckpointMeta {
  const file = readCheckpoint<CheckpointMeta>(path);
  assignVariables(path, file, modelTensors(detector));
  return file.meta;
}

export async function runTraining(options: TrainOptions, hooks: TrainHooks = {}): Promise<TrainResult> {
  validateTrainOptions(options);
  const log = hooks.log ?? (() => {});
  const out = resolve(options.out);
  const ckptPath = checkpointPath(out);
  if (!options.resume && existsSync(ckptPath)) {
    throw new Error(`${ckptPath} exists: pass --resume to continue that run, or choose another --out`);
  }
  const cacheOptions = options.dataCache === undefined ? { log } : { log, cacheDir: options.dataCache };
  const source: DataSource = resolveData(options.data, cacheOptions);
  const train = readSplit(source.train);
  if (train.images.length === 0) throw new Error(`${source.trainDir}: the training split has no images`);
  // The validation split is read and checked before training, so a broken one costs no training.
  const perEpochOfSplit = Math.max(1, Math.floor(train.images.length / options.batchSize));
  const valEvery = options.valEveryEpochs !== undefined ? options.valEveryEpochs * perEpochOfSplit : (options.valEvery ?? 0);
  const val = options.evaluate || valEvery > 0 ? readSplit(source.val) : undefined;
  if (val !== undefined) checkSameCategories(train, val, source.valDir);
  log(`train: ${formatSummary(train)}`);
  if (val !== undefined) log(`val: ${formatSummary(val)}`);
  const inputSize = chooseInputSize(options, train, ckptPath, log);
  // Batches per epoch as the loader below counts them (dropLast).
  const epochs = Math.ceil(options.steps / Math.max(1, Math.floor(train.images.length / options.batchSize)));
  const detectorOptions = detectorOptionsFor(options, train.categories.length, inputSize, epochs);
  // Before anything is written or built: an unwritable --out fails now, not at the first checkpoint.
  checkWritableFolder(out);
  const logEvery = options.logEvery ?? TRAIN_DEFAULTS.logEvery;
  const args = runArgs(
    options,
    { ...resolvedSchedule(options), inputSize, logEvery },
    {
      iterationsPerEpoch: perEpochOfSplit,
      epochs,
      valEveryIterations: valEvery,
      trainImages: train.images.length,
      valImages: val?.images.length ?? null,
      smallInputPriors: options.smallInput === 'auto' ? inputSize <= 256 : options.smallInput,
      detectorOptions,
      backend: tf.getBackend(),
    },
  );
  checkRunFolder(out, args, options.resume && existsSync(ckptPath), (stored, now) => sameRunOptions(stored, now, 'args.json'));
  const folder = new RunFolder({
    dir: out,
    logEvery,
    iterationsPerEpoch: perEpochOfSplit,
    title: (iteration) => `${options.detector} (${options.hpf === false ? 'published loss' : 'HPF'}), ${out}: iteration ${iteration} of ${options.steps}`,
    log,
  });
  const validations: ValidationRecord[] = [];
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
  const schedule = lrScheduleFor(options);
  const loader = createBatchLoader(train, {
    batchSize: options.batchSize,
    inputSize,
    seed: options.seed,
    flipProbability: options.flipProbability,
    dropLast: true,
    ...(options.scaleJitter === undefined ? {} : { scaleJitter: options.scaleJitter }),
    ...(options.colorJitter === undefined ? {} : { colorJitter: options.colorJitter }),
  });
  const perEpoch = loader.batchesPerEpoch;

  try {
    let fitted;
    try {
      fitted = await fit<RunMeta, ValidationRecord>({
        detector,
        steps: options.steps,
        iterationsPerEpoch: perEpoch,
        // The batch at position (iteration mod perEpoch) of this epoch's plan: the same batch an
        // uninterrupted run would see, whatever iteration training resumed at.
        batch: (iteration, epoch) => {
          const batch = loader.load(loader.plan(epoch)[iteration % perEpoch]!);
          return { images: batch.images, targets: batch.targets, release: () => batch.images.dispose() };
        },
        trainer: {
          lr: schedule,
          momentum: options.momentum,
          weightDecay: options.weightDecay,
          ...(options.clipGradNorm === undefined ? {} : { clipGradNorm: options.clipGradNorm }),
        },
        checkpoint: {
          path: ckptPath,
          every: options.checkpointEvery,
          resume: options.resume,
          allowBackendChange: options.allowBackendChange === true,
          meta: { options, detectorOptions, categories: train.categories.map((c) => ({ id: c.id, name: c.name })), inputSize },
          checkResume: (stored) => {
            const mismatch = sameRunOptions(stored.options, options);
            if (mismatch !== undefined) throw new Error(`${ckptPath}: --resume with different options (${mismatch})`);
            const storedValidations = (stored.validations ?? []) as ValidationRecord[];
            const stop = options.patience === undefined ? undefined : earlyStop(storedValidations, options.patience);
            if (stop !== undefined) throw new Error(`${ckptPath}: this run already stopped early (${stop.message}); resume with a larger --patience to train on`);
            validations.push(...storedValidations);
            folder.restore(stored.history, storedValidations);
          },
        },
        ...(val !== undefined && valEvery > 0
          ? {
              validation: {
                every: valEvery,
                run: async (iteration: number): Promise<ValidationRecord> => {
                  const { stats } = (await evaluateDetector(detector, val, { batchSize: options.batchSize, inputSize })).result;
                  log(`iteration ${iteration}: val AP ${(100 * stats.AP).toFixed(2)}, AP50 ${(100 * stats.AP50).toFixed(2)}`);
                  const record = { iteration, ap: stats.AP, ap50: stats.AP50, ap75: stats.AP75 };
                  await folder.validation(record);
                  return record;
                },
                after: (record: ValidationRecord, control: { save: (path: string) => void; stop: () => void }) => {
                  const previous = bestValidation(validations);
                  validations.push(record);
                  if (previous === undefined || record.ap > previous.ap) {
                    control.save(folder.bestPath);
                    log(`val AP improved${previous === undefined ? '' : ` from ${(100 * previous.ap).toFixed(2)}`}: ${folder.bestPath}`);
                  }
                  const stop = options.patience === undefined ? undefined : earlyStop(validations, options.patience);
                  if (stop !== undefined) {
                    log(stop.message);
                    control.stop();
                  }
                },
              },
            }
          : {}),
        hooks: {
          onStart: (info) => {
            folder.start(args, info.startIteration);
            hooks.onStart?.({ ...info, detector: options.detector });
          },
          onIteration: (event) => {
            folder.iteration(event);
            hooks.onIteration?.(event);
          },
          ...(hooks.onCheckpoint === undefined ? {} : { onCheckpoint: hooks.onCheckpoint }),
          ...(hooks.signal === undefined ? {} : { signal: hooks.signal }),
          log,
        },
      });
    } catch (error) {
      if (error instanceof NonFiniteStateError) {
        throw new TrainingStoppedError(`${error.message} (lr ${schedule(error.iteration - 1)} at the iteration before)`, error.iteration, undefined);
      }
      if (error instanceof BackendMismatchError) {
        throw new Error(
          `${error.path}: --resume of a checkpoint computed on the '${error.stored}' backend on '${error.current}': the same result is promised only on the same backend; ` +
            `run with --backend ${error.stored}, or pass --allow-backend-change to continue on '${error.current}' anyway`,
          { cause: error },
        );
      }
      if (isOutOfMemory(error)) throw outOfMemoryError(error, inputSize, options.batchSize);
      if (error instanceof NonFiniteLossError) {
        const kept = existsSync(ckptPath) ? `the last checkpoint (${ckptPath}) is intact` : 'no checkpoint was written yet';
        throw new TrainingStoppedError(
          `training stopped: non-finite loss at iteration ${error.iteration}: loss term '${error.term}' is ${error.value} (lr ${schedule(error.iteration)}); weights were not updated; ${kept}`,
          error.iteration,
          error.term,
        );
      }
      throw error;
    }
    const { history, interrupted, trainSeconds, stoppedEarly } = fitted;

    let stats: CocoStats | null = null;
    let final: MeasuredAp | undefined;
    if (!interrupted && options.evaluate && val !== undefined) {
      log('evaluating on the validation split');
      stats = (await evaluateDetector(detector, val, { batchSize: options.batchSize, inputSize })).result.stats;
      final = { iteration: history.length, ap: stats.AP, ap50: stats.AP50 };
    }
    await folder.finish(final);
    // best.hpf is the best of the validations and the final model (a copy of its checkpoint).
    let best: TrainResult['best'];
    if (valEvery > 0) {
      const during = bestValidation(fitted.validations);
      if (final !== undefined && (during === undefined || final.ap > during.ap)) {
        copyFileAtomic(ckptPath, folder.bestPath);
        best = { ...final, checkpoint: folder.bestPath };
      } else if (during !== undefined) {
        best = { iteration: during.iteration, ap: during.ap, ap50: during.ap50, checkpoint: folder.bestPath };
      }
    }
    const stop = stoppedEarly && options.patience !== undefined ? earlyStop(fitted.validations, options.patience) : undefined;
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
      validations: fitted.validations,
      detectorOptions,
      interrupted,
      checkpoint: ckptPath,
      ...(best === undefined ? {} : { best }),
      ...(stop === undefined ? {} : { earlyStop: { iteration: stop.iteration, patience: stop.patience, bestIteration: stop.best.iteration, bestAp: stop.best.ap, message: stop.message } }),
    };
    if (!interrupted) writeFileAtomic(join(out, RESULT_FILE), Buffer.from(JSON.stringify(result)));
    return result;
  } finally {
    detector.dispose();
  }
}

/**
 * --input-size, else a resumed run's own (the checkpoint's, whatever the default was when it was
 * written), else `defaultInputSize` of the training split; logged with where it comes from.
 */
function chooseInputSize(options: TrainOptions, train: CocoDataset, ckptPath: string, log: (line: string) => void): number {
  if (options.inputSize !== undefined) {
    log(`input size ${options.inputSize} px (--input-size)`);
    return options.inputSize;
  }
  if (options.resume && existsSync(ckptPath)) {
    const stored = readCheckpointMeta<Partial<RunMeta>>(ckptPath).inputSize;
    if (typeof stored === 'number' && Number.isInteger(stored) && stored > 0) {
      log(`input size ${stored} px (the checkpoint's; --input-size to change)`);
      return stored;
    }
  }
  const { size, median } = defaultInputSize(train.images);
  const capped = size === MAX_DEFAULT_INPUT_SIZE && median > MAX_DEFAULT_INPUT_SIZE ? `, capped at ${MAX_DEFAULT_INPUT_SIZE}` : '';
  log(`input size ${size} px (median longer image side ${median} px, rounded to a multiple of ${INPUT_SIZE_DIVISOR}${capped}; --input-size to change)`);
  return size;
}

export function checkSameCategories(train: CocoDataset, val: CocoDataset, valDir: string): void {
  const a = train.categories.map((c) => c.id).join(',');
  const b = val.categories.map((c) => c.id).join(',');
  if (a !== b) throw new Error(`${valDir}: category ids [${b}] differ from the training split's [${a}]`);
}
