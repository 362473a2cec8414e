import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { appendFileSync } from 'node:fs';
import { expect } from 'vitest';
import { createLrSchedule, createRng, installTrainingKernels } from '@hpf/engine';
import { fit } from '@hpf/engine/node';
import { evaluateCoco, type CocoAnnotation, type CocoDetection, type CocoStats } from '@hpf/eval';
import { generateSplit, PRESETS } from '@hpf/digits-det';
import type { Detector, DetectorTarget } from '@hpf/dense';

/**
 * A few quick-preset images with 2-3 clearly visible digits each (no partial digits, so every
 * digit in an image is annotated): small enough for a detector to overfit in seconds on wasm.
 */
export const OVERFIT_PRESET = {
  ...PRESETS.quick,
  minDigits: 2,
  maxDigits: 3,
  minInkHeight: 14,
  maxInkHeight: 48,
  // The overfit sets predate the ink-side floor; 0 keeps them (and the tests tuned on them) as they were.
  minInkSide: 0,
  maxPartials: 0,
  maxStrokesOver: 0,
};

export interface OverfitData {
  /** `[count * size * size * 3]`, pixels in [0, 1]. */
  pixels: Float32Array;
  size: number;
  count: number;
  targets: DetectorTarget[];
  /** The same objects as COCO ground truth (image ids 1..count, category id = digit + 1). */
  annotations: CocoAnnotation[];
}

/** `count` training images of digits-det (seed `seed`), as detector targets and COCO ground truth. */
export function overfitImages(count = 2, seed = 3): OverfitData {
  const images = [...generateSplit(OVERFIT_PRESET, 'train', seed, count)];
  const size = OVERFIT_PRESET.imageSize;
  const pixels = new Float32Array(images.length * size * size * 3);
  const targets: DetectorTarget[] = [];
  const annotations: CocoAnnotation[] = [];
  images.forEach((img, i) => {
    img.image.data.forEach((v, k) => (pixels[i * size * size * 3 + k] = v / 255));
    const objects = img.objects.filter((o) => o.annotated && o.bbox !== null);
    const xywh = objects.map((o) => o.bbox!);
    targets.push({
      boxes: Float32Array.from(xywh.flatMap(([x, y, w, h]) => [x, y, x + w, y + h])),
      labels: Int32Array.from(objects.map((o) => o.digit)),
      ignoreBoxes: new Float32Array(0),
    });
    objects.forEach((o, k) => {
      const [, , w, h] = xywh[k]!;
      annotations.push({ id: annotations.length + 1, image_id: i + 1, category_id: o.digit + 1, bbox: xywh[k]!, area: w * h, iscrowd: 0 });
    });
  });
  return { pixels, size, count: images.length, targets, annotations };
}

/** The wasm backend set up for training (gradients + the engine's kernels): what users train on without a GPU. */
export async function useWasmTraining(): Promise<void> {
  installTrainingKernels();
  await tf.setBackend('wasm');
}

/**
 * The recipe's defaults. mmdetection trains these detectors with a linear warm-up (500 iterations
 * from 0.001 x lr) and, for most of them, gradient clipping (max norm 35). A 2-image overfit run
 * at full lr from step 0 and no clipping sits at the edge of stability: single-step gradient spikes
 * (norm 25-60, up to 1e4 before a divergence) made its outcome flip with last-bit rounding changes
 * (packages/foveabox/README.md). The warm-up and clipping are scaled to runs of 50-100 steps.
 * Measured: testkit README, "Sensitivity study".
 */
export const OVERFIT_DEFAULTS = {
  lr: 0.01,
  momentum: 0.9,
  warmupIters: 10,
  warmupRatio: 0.1,
  clipGradNorm: 10 as number | null,
  // A final 10x lr drop, as mmdetection's schedule ends, cost FCOS and GFL their last class in
  // 50-100 steps (AP50 0.67): these runs are too short for it.
  decayAt: null as number | null,
} as const;

/** Multiplicative noise on the initial weights, to measure how sensitive an overfit run is to rounding. */
export interface OverfitJitter {
  /** Every trainable weight w becomes w * (1 + scale * u), u uniform in [-1, 1]; 1e-7 is ~1 float32 ulp. */
  scale: number;
  seed: number;
}

export interface OverfitOptions {
  steps: number;
  /** Peak SGD learning rate (momentum 0.9, no weight decay; default 0.01). */
  lr?: number;
  /** Iterations of linear warm-up from `warmupRatio` x lr to lr (default 10; 0 = none). */
  warmupIters?: number;
  /** Warm-up factor at step 0 (default 0.1). */
  warmupRatio?: number;
  /** Clip gradients to this global norm (default 10; null = no clipping). */
  clipGradNorm?: number | null;
  /** Fraction of the steps after which the lr drops to 0.1 x (default null: no drop). */
  decayAt?: number | null;
  /** Perturb the initial weights (default none). */
  jitter?: OverfitJitter;
  data?: OverfitData;
  /** Called before every step (e.g. a detector that needs the training progress). */
  beforeStep?: (step: number) => void;
}

export interface OverfitResult {
  /** COCO stats of the trained detector on its own training images. */
  stats: CocoStats;
  /** `tf.memory().numTensors` after each step. */
  tensorCounts: number[];
  /** Total loss after each step. */
  losses: number[];
  /** Global gradient norm of each step, before clipping (empty without clipping). */
  gradNorms: number[];
}

const OPTION_KEYS = ['steps', 'lr', 'warmupIters', 'warmupRatio', 'clipGradNorm', 'decayAt', 'jitter', 'data', 'beforeStep'];
// Options a sensitivity study may set for every overfit test at once, via OVERFIT_HARNESS (JSON).
const ENV_KEYS = ['lr', 'warmupIters', 'warmupRatio', 'clipGradNorm', 'decayAt', 'jitter'];

function envOptions(): Partial<OverfitOptions> {
  const raw = process.env.OVERFIT_HARNESS;
  if (raw === undefined || raw === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (error) {
    throw new Error(`runOverfit: OVERFIT_HARNESS is not JSON: ${raw}`, { cause: error });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`runOverfit: OVERFIT_HARNESS must be a JSON object, got ${raw}`);
  const unknown = Object.keys(parsed).find((k) => !ENV_KEYS.includes(k));
  if (unknown !== undefined) throw new Error(`runOverfit: OVERFIT_HARNESS has unknown option '${unknown}' (known: ${ENV_KEYS.join(', ')})`);
  return parsed as Partial<OverfitOptions>;
}

type Resolved = Required<Omit<OverfitOptions, 'jitter' | 'data' | 'beforeStep'>> & OverfitOptions;

function resolveOptions(options: OverfitOptions): Resolved {
  const unknown = Object.keys(options).find((k) => !OPTION_KEYS.includes(k));
  if (unknown !== undefined) throw new Error(`runOverfit: unknown option '${unknown}'`);
  const o = { ...OVERFIT_DEFAULTS, ...envOptions(), ...options };
  if (!Number.isInteger(o.steps) || o.steps < 1) throw new Error(`runOverfit: option 'steps' must be a positive integer, got ${o.steps}`);
  if (!(o.lr > 0)) throw new Error(`runOverfit: option 'lr' must be > 0, got ${o.lr}`);
  if (o.clipGradNorm !== null && !(o.clipGradNorm > 0)) throw new Error(`runOverfit: option 'clipGradNorm' must be > 0 or null, got ${o.clipGradNorm}`);
  if (o.decayAt !== null && !(o.decayAt > 0 && o.decayAt <= 1)) throw new Error(`runOverfit: option 'decayAt' must be in (0, 1] or null, got ${o.decayAt}`);
  if (o.jitter !== undefined && !(o.jitter.scale >= 0 && Number.isInteger(o.jitter.seed))) {
    throw new Error(`runOverfit: option 'jitter' needs scale >= 0 and an integer seed, got ${JSON.stringify(o.jitter)}`);
  }
  return o;
}

function jitterWeights(variables: readonly tf.Variable[], { scale, seed }: OverfitJitter): void {
  const rng = createRng(seed);
  for (const v of variables) {
    tf.tidy(() => v.assign(tf.mul(v, tf.add(1, tf.mul(scale, tf.randomUniform(v.shape, -1, 1, 'float32', rng.tfSeed()))))));
  }
}

async function evaluateOwnImages(detector: Detector<unknown>, images: tf.Tensor4D, data: OverfitData): Promise<CocoStats> {
  const detections = await detector.predict(images);
  const results: CocoDetection[] = detections.flatMap((dets, i) =>
    dets.map((d) => ({
      image_id: i + 1,
      category_id: d.label + 1,
      bbox: [d.box[0], d.box[1], d.box[2] - d.box[0], d.box[3] - d.box[1]] as [number, number, number, number],
      score: d.score,
    })),
  );
  const dataset = {
    images: Array.from({ length: data.count }, (_, i) => ({ id: i + 1 })),
    annotations: data.annotations,
    categories: Array.from({ length: 10 }, (_, d) => ({ id: d + 1 })),
  };
  return evaluateCoco(dataset, results).stats;
}

/**
 * Trains `detector` on the overfit images for `steps` steps of mmdetection's recipe (momentum SGD,
 * linear warm-up, gradient clipping) with `@hpf/engine`'s `fit`, then evaluates it on the same
 * images. Disposes what it creates; the detector stays the caller's.
 */
export async function runOverfit(detector: Detector<unknown>, options: OverfitOptions): Promise<OverfitResult> {
  const o = resolveOptions(options);
  const data = o.data ?? overfitImages();
  const variables = detector.trainableVariables();
  if (o.jitter !== undefined) jitterWeights(variables, o.jitter);
  const images = tf.tensor4d(data.pixels, [data.count, data.size, data.size, 3]);
  const decaySteps = o.decayAt === null ? [] : [Math.round(o.decayAt * o.steps)];
  const lr = createLrSchedule({ baseLr: o.lr, warmupIters: o.warmupIters, warmupRatio: o.warmupRatio, steps: decaySteps, gamma: 0.1 });
  const tensorCounts: number[] = [];
  const losses: number[] = [];
  const gradNorms: number[] = [];
  const started = performance.now();
  let stats: CocoStats | null = null;
  try {
    // The run is one epoch (fit calls setEpoch(0) before every step); `beforeStep` may set another.
    await fit({
      detector,
      steps: o.steps,
      iterationsPerEpoch: o.steps,
      batch: () => ({ images, targets: data.targets }),
      trainer: { lr, momentum: OVERFIT_DEFAULTS.momentum, ...(o.clipGradNorm === null ? {} : { clipGradNorm: o.clipGradNorm }) },
      hooks: {
        ...(o.beforeStep === undefined ? {} : { beforeIteration: o.beforeStep }),
        onIteration: (event) => {
          losses.push(event.losses.total!);
          if (event.gradNorm !== undefined) gradNorms.push(event.gradNorm);
          tensorCounts.push(tf.memory().numTensors);
        },
      },
    });
    stats = await evaluateOwnImages(detector, images, data);
    return { stats, tensorCounts, losses, gradNorms };
  } finally {
    report(detector, o, stats, losses, gradNorms, (performance.now() - started) / 1000);
    images.dispose();
  }
}

// OVERFIT_REPORT=<file>: one JSON line per run, for the sensitivity study (bench/overfit-sensitivity.mjs).
function report(detector: Detector<unknown>, o: OverfitOptions, stats: CocoStats | null, losses: number[], gradNorms: number[], seconds: number): void {
  const file = process.env.OVERFIT_REPORT;
  if (file === undefined || file === '') return;
  const line = {
    test: expect.getState().currentTestName ?? detector.name,
    detector: detector.name,
    harness: { lr: o.lr, warmupIters: o.warmupIters, warmupRatio: o.warmupRatio, clipGradNorm: o.clipGradNorm, decayAt: o.decayAt, jitter: o.jitter ?? null },
    steps: o.steps,
    stepsRun: losses.length,
    // null: training stopped on a non-finite loss.
    AP50: stats?.AP50 ?? null,
    AP: stats?.AP ?? null,
    finalLoss: losses.at(-1),
    maxGradNorm: gradNorms.length > 0 ? Math.max(...gradNorms) : null,
    seconds: Math.round(seconds * 10) / 10,
  };
  appendFileSync(file, `${JSON.stringify(line)}\n`);
}
