/**
 * The quick preset's training setup, built from the same pieces as `hpf train` (registry,
 * detectorOptionsFor, @hpf/engine's Trainer, the seeded batch loader) and the same arguments as
 * `hpf bench stable-gain --preset quick`, so that speed and soak numbers describe the network and
 * step the sweep trains. Imported by speed.bench.ts and soak.ts after the backend is initialised.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { Trainer } from '@hpf/engine/node';
import { createBatchLoader, readCocoDataset, type BatchLoader, type DetectionBatch } from '@hpf/data';
import type { Detector } from '@hpf/dense';
import { BENCH_PRESETS } from '../../src/bench.js';
import { resolveData } from '../../src/data-source.js';
import { buildDetector, detectorOptionsFor, lrScheduleFor, TRAIN_DEFAULTS, type TrainOptions } from '../../src/train.js';

const QUICK = BENCH_PRESETS.quick;

/** The preset's network/clipping arguments (`--neck-channels 32 ...`) as TrainOptions fields. */
function presetNetwork(): Pick<TrainOptions, 'neckChannels' | 'featChannels' | 'stackedConvs' | 'clipGradNorm'> {
  const { values } = parseArgs({
    args: [...QUICK.trainArgs],
    options: {
      'neck-channels': { type: 'string' },
      'feat-channels': { type: 'string' },
      'stacked-convs': { type: 'string' },
      'clip-grad-norm': { type: 'string' },
      // Validation during a run does not change its step: read and not used here.
      'val-every': { type: 'string' },
    },
    strict: true,
  });
  const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));
  const out: Pick<TrainOptions, 'neckChannels' | 'featChannels' | 'stackedConvs' | 'clipGradNorm'> = {};
  const neck = num(values['neck-channels']);
  const feat = num(values['feat-channels']);
  const convs = num(values['stacked-convs']);
  const clip = num(values['clip-grad-norm']);
  if (neck !== undefined) out.neckChannels = neck;
  if (feat !== undefined) out.featChannels = feat;
  if (convs !== undefined) out.stackedConvs = convs;
  if (clip !== undefined) out.clipGradNorm = clip;
  return out;
}

/** TrainOptions of one quick-preset run (what `hpf bench stable-gain --preset quick` passes). */
export function quickTrainOptions(detector: string, hpf: boolean, batchSize: number = QUICK.batchSize): TrainOptions {
  return {
    ...TRAIN_DEFAULTS,
    detector,
    hpf: hpf ? { delta: 0.5 } : false,
    data: QUICK.data,
    out: 'unused',
    steps: QUICK.steps,
    batchSize,
    lr: QUICK.lr,
    backbone: QUICK.backbone,
    ...presetNetwork(),
  };
}

export interface QuickData {
  loader: BatchLoader;
  inputSize: number;
  numClasses: number;
  epochs: number;
}

/** The digits-det quick training split (generated into runs/data on first use). */
export function loadQuickData(batchSize: number, cacheDir = 'runs/data'): QuickData {
  const source = resolveData(QUICK.data, { cacheDir, log: (line) => console.error(line) });
  const train = readCocoDataset(source.trainDir);
  const inputSize = train.images[0]?.width ?? 0;
  if (inputSize <= 0) throw new Error(`${source.trainDir}: the training split has no images`);
  const loader = createBatchLoader(train, { batchSize, inputSize, seed: 0, flipProbability: TRAIN_DEFAULTS.flipProbability, dropLast: true });
  const epochs = Math.ceil(QUICK.steps / Math.max(1, Math.floor(train.images.length / batchSize)));
  return { loader, inputSize, numClasses: train.categories.length, epochs };
}

export interface QuickTrainer {
  detector: Detector;
  options: TrainOptions;
  /** One training iteration (forward + backward + clip + SGD step) on `batch`; returns the total loss. */
  step(batch: DetectionBatch, iteration: number): number;
  /** Training progress for detectors that change with it (TOOD); a no-op for the others. */
  setEpoch(epoch: number): void;
  dispose(): void;
}

/**
 * A detector with @hpf/engine's Trainer, as `runTraining`'s `fit` builds them. Progress-aware
 * detectors (TOOD) start at their first epoch past the warm-up: the quick sweep spends most of its
 * epochs there.
 */
export async function createQuickTrainer(name: string, hpf: boolean, data: QuickData, batchSize: number): Promise<QuickTrainer> {
  const options = quickTrainOptions(name, hpf, batchSize);
  const detector = await buildDetector(name, detectorOptionsFor(options, data.numClasses, data.inputSize, data.epochs));
  detector.setEpoch?.(firstTrainedEpoch(detector));
  const trainer = new Trainer(detector, {
    lr: lrScheduleFor(options),
    momentum: options.momentum,
    weightDecay: options.weightDecay,
    ...(options.clipGradNorm === undefined ? {} : { clipGradNorm: options.clipGradNorm }),
  });
  return {
    detector,
    options,
    step: (batch, iteration) => trainer.step(batch, iteration).losses.total!,
    setEpoch: (epoch) => detector.setEpoch?.(epoch),
    dispose() {
      trainer.dispose();
      detector.dispose();
    },
  };
}

/** TOOD's first task-aligned epoch (`config.initialEpoch`); 0 for detectors without a warm-up. */
function firstTrainedEpoch(detector: Detector): number {
  const config = detector.config as { initialEpoch?: unknown };
  return typeof config.initialEpoch === 'number' ? config.initialEpoch : 0;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export { tf, QUICK };
