/**
 * Why a RetinaNet run of the quick stable-gain preset stalls: one arm (baseline or HPF) of one seed
 * trained exactly as `hpf bench stable-gain --preset quick` trains it (the registry's detector from
 * detectorOptionsFor, the seeded batch loader, lrScheduleFor over the preset's 6,000-iteration
 * schedule, @hpf/engine's Trainer with clipping at 35), for the first `--iterations` iterations,
 * with a record per iteration of what the training step does inside the network:
 *
 * - losses, the global gradient norm before clipping and whether clipping scaled the step;
 * - backbone stages (layer1-4, i.e. C2-C5, after their final ReLU): share of zero outputs, share of
 *   channels that are zero at every position of the batch ("dead"), constant channels, std;
 * - FPN outputs P3-P7 (no ReLU): standard deviation;
 * - head towers (cls and reg, after their last ReLU) per level: share of zeros, dead channels,
 *   constant channels (the same value everywhere: dead, or a bias passed through);
 * - classifier per level: mean and max sigmoid over all (anchor, class) outputs, and from the
 *   loss's own per-level statistics the positives, their mean -log p (HPF's statistic, measured in
 *   both arms), gamma and alpha;
 * - regression output per level: mean |delta|.
 *
 * The probes wrap the modules' `forward` during the training step itself (no second forward pass);
 * what they compute is not on the path to the loss, so the gradients and the update are those of an
 * unprobed run: `--reference <result.json>` checks this against a finished run's history.
 *
 *   node --import tsx --import ./tools/register-tfjs-core-resolve.mjs packages/cli/bench/retinanet-stall.ts \
 *     --arm hpf --seed 1 --iterations 600 --data-cache <bench folder>/data --out /tmp/hpf-seed1.jsonl \
 *     [--lr 0.03] [--warmup-iters 100] [--clip 35|off] [--hpf '{"mode":"global"}'] [--reference <run>/result.json]
 *     [--grad-detail 150-160,178]
 *
 * `--grad-detail` also takes the listed iterations' gradient apart: the norm of the gradient of
 * loss_cls alone and of loss_bbox alone, per module group, and the derivative of loss_cls by the
 * logits per level, the positives' and the negatives' share (`gradDetail` in the row).
 *
 * Writes one JSON object per iteration (JSON lines) to --out and a summary line every 25 iterations.
 */
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { installTrainingKernels } from '@hpf/engine';
import { initBackend, Trainer } from '@hpf/engine/node';
import { createBatchLoader } from '@hpf/data';
import type { DetectorLoss } from '@hpf/dense';
import { BENCH_PRESETS } from '../src/bench.js';
import { readSplit, resolveData } from '../src/data-source.js';
import { buildDetector, detectorOptionsFor, lrScheduleFor, resolvedSchedule, TRAIN_DEFAULTS, type TrainOptions } from '../src/train.js';

const QUICK = BENCH_PRESETS.quick;
const DETECTOR = 'retinanet';

const { values } = parseArgs({
  options: {
    arm: { type: 'string' },
    seed: { type: 'string', default: '1' },
    iterations: { type: 'string', default: '600' },
    'data-cache': { type: 'string', default: 'runs/data' },
    out: { type: 'string' },
    lr: { type: 'string' },
    'warmup-iters': { type: 'string' },
    clip: { type: 'string' },
    hpf: { type: 'string' },
    reference: { type: 'string' },
    'grad-detail': { type: 'string' },
  },
  strict: true,
});
if (values.arm !== 'hpf' && values.arm !== 'baseline') throw new Error(`--arm must be 'hpf' or 'baseline', got ${String(values.arm)}`);
if (values.out === undefined) throw new Error('--out <file.jsonl> is required');
const intOf = (name: string, v: string): number => {
  const n = Number(v);
  if (!(Number.isInteger(n) && n >= 0)) throw new Error(`--${name} must be a non-negative integer, got '${v}'`);
  return n;
};
const seed = intOf('seed', values.seed);
const iterations = intOf('iterations', values.iterations);
const hpfOverride = values.hpf === undefined ? {} : (JSON.parse(values.hpf) as Record<string, unknown>);
if (values.arm === 'baseline' && values.hpf !== undefined) throw new Error('--hpf applies to --arm hpf only');
/** 1-based iterations (`150-160,178`) whose gradient is also taken apart by loss term and module. */
const gradDetail = new Set<number>();
for (const part of (values['grad-detail'] ?? '').split(',').filter((p) => p !== '')) {
  const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
  if (m === null) throw new Error(`--grad-detail: expected iterations like 150-160,178, got '${part}'`);
  for (let i = Number(m[1]); i <= Number(m[2] ?? m[1]); i++) gradDetail.add(i);
}

/** The preset's value of a `--name value` pair of its train arguments. */
function presetArg(name: string): number {
  const at = QUICK.trainArgs.indexOf(name);
  if (at < 0) throw new Error(`the quick preset has no ${name}`);
  return Number(QUICK.trainArgs[at + 1]);
}
const presetClip = presetArg('--clip-grad-norm');
// 'off': no clipping; the norm is still measured (a bound no norm reaches scales nothing).
const clip = values.clip === undefined ? presetClip : values.clip === 'off' ? Number.MAX_VALUE : Number(values.clip);
if (!(clip > 0)) throw new Error(`--clip must be a number > 0 or 'off', got '${String(values.clip)}'`);

const options: TrainOptions = {
  ...TRAIN_DEFAULTS,
  detector: DETECTOR,
  hpf: values.arm === 'hpf' ? { delta: 0.5, ...hpfOverride } : false,
  data: QUICK.data,
  out: 'unused',
  // The schedule of the 6,000-iteration run (milestones at 4,000 and 5,500), whatever part of it runs.
  steps: QUICK.stepsByDetector[DETECTOR] ?? QUICK.steps,
  batchSize: QUICK.batchSize,
  lr: values.lr === undefined ? (QUICK.lrByDetector[DETECTOR] ?? QUICK.lr) : Number(values.lr),
  backbone: QUICK.backbone,
  seed,
  neckChannels: presetArg('--neck-channels'),
  featChannels: presetArg('--feat-channels'),
  stackedConvs: presetArg('--stacked-convs'),
  clipGradNorm: clip,
};
if (values['warmup-iters'] !== undefined) options.warmupIters = intOf('warmup-iters', values['warmup-iters']);

const choice = await initBackend();
installTrainingKernels();
const source = resolveData(options.data, { cacheDir: values['data-cache'], log: (line) => console.error(line) });
const train = readSplit(source.train);
const inputSize = train.images[0]!.width;
const epochs = Math.ceil(options.steps / Math.max(1, Math.floor(train.images.length / options.batchSize)));
const detector = await buildDetector(DETECTOR, detectorOptionsFor(options, train.categories.length, inputSize, epochs));
const loader = createBatchLoader(train, { batchSize: options.batchSize, inputSize, seed, flipProbability: options.flipProbability, dropLast: true });
const perEpoch = loader.batchesPerEpoch;
const trainer = new Trainer(detector, { lr: lrScheduleFor(options), momentum: options.momentum, weightDecay: options.weightDecay, clipGradNorm: clip });

// ---- probes: small tensors kept during the step, read after it ----
type Probe = { key: string; tensor: tf.Tensor };
let probes: Probe[] = [];
const keep = (key: string, t: tf.Tensor): void => void probes.push({ key, tensor: tf.keep(t) });

/** Zero share, dead-channel share and std of a post-ReLU [N, H, W, C] activation. */
function reluProbe(prefix: string, x: tf.Tensor4D): void {
  keep(`${prefix}.zero`, tf.tidy(() => tf.mean(tf.cast(tf.equal(x, 0), 'float32'))));
  keep(`${prefix}.dead`, tf.tidy(() => tf.mean(tf.cast(tf.equal(tf.max(x, [0, 1, 2]), 0), 'float32'))));
  keep(`${prefix}.std`, tf.tidy(() => tf.sqrt(tf.moments(x).variance)));
  // Channels that do not depend on the input (the same value at every position of every image):
  // dead ones, and live ones that only pass a bias through.
  keep(`${prefix}.const`, tf.tidy(() => tf.mean(tf.cast(tf.lessEqual(tf.sub(tf.max(x, [0, 1, 2]), tf.min(x, [0, 1, 2])), 0), 'float32'))));
}

/** Replaces `module.forward` by one that also probes its output; `call` counts the calls of one step (e.g. the level). */
function wrap<I, O>(module: { forward: (x: I) => O }, probe: (out: O, call: number) => void, callsPerStep = 1): void {
  const original = module.forward.bind(module);
  let calls = 0;
  module.forward = (x: I): O => {
    const out = original(x);
    probe(out, calls++ % callsPerStep);
    return out;
  };
}

// Private fields of the model, reached for the probes only (the modules themselves are unchanged).
const model = detector.model as unknown as {
  backbone: { stages: Array<{ forward: (x: tf.Tensor4D) => tf.Tensor4D }> };
  neck: { forward: (x: tf.Tensor4D[]) => tf.Tensor4D[] };
  head: {
    numLevels: number;
    clsConvs: { forward: (x: tf.Tensor4D) => tf.Tensor4D };
    regConvs: { forward: (x: tf.Tensor4D) => tf.Tensor4D };
    clsOut: { forward: (x: tf.Tensor4D) => tf.Tensor4D };
    regOut: { forward: (x: tf.Tensor4D) => tf.Tensor4D };
  };
};
const numLevels = model.head.numLevels;
model.backbone.stages.forEach((stage, i) => wrap(stage, (out) => reluProbe(`C${i + 2}`, out)));
wrap(model.neck, (outs) => outs.forEach((p, l) => keep(`P${l + 3}.std`, tf.tidy(() => tf.sqrt(tf.moments(p).variance)))));
wrap(model.head.clsConvs, (out, l) => reluProbe(`clsTower.P${l + 3}`, out), numLevels);
wrap(model.head.regConvs, (out, l) => reluProbe(`regTower.P${l + 3}`, out), numLevels);
wrap(
  model.head.clsOut,
  (z, l) => {
    keep(`clsProb.P${l + 3}.mean`, tf.tidy(() => tf.mean(tf.sigmoid(z))));
    keep(`clsProb.P${l + 3}.max`, tf.tidy(() => tf.sigmoid(tf.max(z))));
  },
  numLevels,
);
wrap(model.head.regOut, (d, l) => keep(`regAbs.P${l + 3}`, tf.tidy(() => tf.mean(tf.abs(d)))), numLevels);

let lastLoss: DetectorLoss | undefined;
const computeLoss = detector.computeLoss.bind(detector);
detector.computeLoss = (images, targets) => (lastLoss = computeLoss(images, targets));

// ---- reference run (a finished run's result.json) ----
type HistoryRow = { iteration: number; losses: Record<string, number> };
const reference = values.reference === undefined ? undefined : (JSON.parse(readFileSync(values.reference, 'utf8')) as { history: HistoryRow[] }).history;
let maxDiff = 0;

// Synchronous writes: the loop never yields, so a stream would hold every row until the end.
const file = openSync(values.out, 'w');

// Module groups of the trainable variables (backbone, neck, cls/reg towers and outputs).
const variables = detector.trainableVariables();
const groupOf = new Map<tf.Variable, string>(
  detector.model.stateDict().map(([name, v]) => {
    const parts = name.split('.');
    return [v, parts[0] === 'bbox_head' ? `head.${parts[1]}` : parts[0]!];
  }),
);
/**
 * The gradient norm of each loss term alone, per module group, on this iteration's batch and
 * weights: separate backward passes before the step, which changes nothing the step computes (BN
 * batch statistics come from the batch; the running averages it updates are used only in eval, and
 * HPF's gamma here has no memory between calls).
 */
function gradientDetail(images: tf.Tensor4D, targets: Parameters<typeof detector.computeLoss>[1]): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const term of ['loss_cls', 'loss_bbox']) {
    const squares = tf.tidy(() => {
      const { grads } = tf.variableGrads(() => {
        const loss = detector.computeLoss(images, targets);
        const kept = loss.losses[term]!;
        tf.dispose([loss.total, ...Object.values(loss.losses).filter((t) => t !== kept)]);
        return kept;
      }, variables);
      const byGroup = new Map<string, tf.Scalar[]>();
      for (const v of variables) {
        const g = grads[v.name];
        if (g === undefined) continue;
        const key = groupOf.get(v) ?? 'other';
        byGroup.set(key, [...(byGroup.get(key) ?? []), tf.sum(tf.square(g))]);
      }
      return [...byGroup].map(([key, list]) => [key, tf.addN(list)] as const);
    });
    out[term] = Object.fromEntries(squares.map(([key, t]) => [key, Math.sqrt(t.dataSync()[0]!)]));
    tf.dispose(squares.map(([, t]) => t));
  }
  return out;
}

/**
 * d loss_cls / d logit per level, split by sign: the focal loss's positive entries always get a
 * negative derivative and its negative entries a positive one (ignored entries 0), so the sign
 * separates what the positives pull from what the negatives push. Sums are of |derivative|.
 */
function logitGradients(images: tf.Tensor4D, targets: Parameters<typeof detector.computeLoss>[1]): Array<{ positives: number; negatives: number; maxNegative: number }> {
  const inner = detector as unknown as {
    priorsFor(out: { cls: tf.Tensor4D[] }): unknown;
    loss(out: unknown, priors: unknown, targets: unknown, size: [number, number]): DetectorLoss;
  };
  const rows = tf.tidy(() => {
    const out = detector.model.forward(images) as { cls: tf.Tensor4D[]; reg: tf.Tensor4D[]; centerness: tf.Tensor4D[] };
    const priors = inner.priorsFor(out);
    const grads = tf.grads((...cls: tf.Tensor[]) => {
      const loss = inner.loss({ ...out, cls }, priors, targets, [images.shape[1], images.shape[2]]);
      const kept = loss.losses.loss_cls!;
      tf.dispose([loss.total, ...Object.values(loss.losses).filter((t) => t !== kept)]);
      return kept;
    })(out.cls);
    return grads.map((g) => tf.stack([tf.sum(tf.relu(tf.neg(g))), tf.sum(tf.relu(g)), tf.max(g)]));
  });
  const result = rows.map((t) => {
    const [positives, negatives, maxNegative] = t.dataSync();
    return { positives: positives!, negatives: negatives!, maxNegative: maxNegative! };
  });
  tf.dispose(rows);
  return result;
}
const schedule = resolvedSchedule(options);
console.log(
  `${DETECTOR} ${values.arm} seed ${seed}: ${iterations} iterations of the ${options.steps}-iteration schedule (lr ${options.lr}, warm-up ${schedule.warmupIters}, ` +
    `milestones ${schedule.lrSteps.join(',')}, clip ${values.clip === 'off' ? 'off' : clip}${values.hpf === undefined ? '' : `, hpf ${values.hpf}`}), backend ${choice.backend}`,
);
const fmt = (v: number | null | undefined, d = 3): string => (v === null || v === undefined ? '-' : v.toFixed(d));
const windowRows: Array<Record<string, unknown>> = [];
for (let iteration = 0; iteration < iterations; iteration++) {
  const epoch = Math.floor(iteration / perEpoch);
  const batch = loader.load(loader.plan(epoch)[iteration % perEpoch]!);
  detector.setEpoch?.(epoch);
  const detail = gradDetail.has(iteration + 1) ? { ...gradientDetail(batch.images, batch.targets), logits: logitGradients(batch.images, batch.targets) } : undefined;
  tf.dispose(probes.map((p) => p.tensor));
  probes = [];
  let step;
  try {
    step = trainer.step({ images: batch.images, targets: batch.targets }, iteration);
  } finally {
    batch.images.dispose();
  }
  const probed: Record<string, number> = {};
  for (const { key, tensor } of probes) probed[key] = tensor.dataSync()[0]!;
  tf.dispose(probes.map((p) => p.tensor));
  const levels = lastLoss!.stats.levels as ReadonlyArray<{ numPositives: number; statistic: number | null; gamma: number; alpha: number | null }>;
  const row = {
    iteration,
    lr: step.lr,
    losses: step.losses,
    gradNorm: step.gradNorm ?? null,
    clipped: step.gradNorm !== undefined && clip / (step.gradNorm + 1e-6) < 1,
    positives: levels.map((l) => l.numPositives),
    posNll: levels.map((l) => l.statistic),
    gammas: levels.map((l) => l.gamma),
    alphas: levels.map((l) => l.alpha),
    probes: probed,
    ...(detail === undefined ? {} : { gradDetail: detail }),
  };
  writeSync(file, `${JSON.stringify(row)}\n`);
  const ref = reference?.[iteration];
  if (ref !== undefined) {
    for (const [k, v] of Object.entries(step.losses)) maxDiff = Math.max(maxDiff, Math.abs(v - (ref.losses[k] ?? NaN)));
  }
  windowRows.push(row);
  if ((iteration + 1) % 25 === 0 || iteration === 0) {
    const mean = (f: (r: (typeof windowRows)[number]) => number): number => windowRows.reduce((s, r) => s + f(r), 0) / windowRows.length;
    const r = row;
    const p = r.probes;
    console.log(
      `iter ${iteration + 1} cls ${fmt(r.losses.loss_cls)} bbox ${fmt(r.losses.loss_bbox)} | window mean cls ${fmt(mean((w) => (w.losses as Record<string, number>).loss_cls!))} ` +
        `bbox ${fmt(mean((w) => (w.losses as Record<string, number>).loss_bbox!))} | grad ${fmt(r.gradNorm, 1)} clipped ${windowRows.filter((w) => w.clipped).length}/${windowRows.length} | ` +
        `gamma ${r.gammas.map((g) => g.toFixed(2)).join(' ')} | -log p+ ${r.posNll.map((s) => fmt(s, 2)).join(' ')} | ` +
        `dead C2-C5 ${[2, 3, 4, 5].map((c) => fmt(p[`C${c}.dead`], 2)).join(' ')} | P std ${[3, 4, 5, 6, 7].map((l) => fmt(p[`P${l}.std`], 2)).join(' ')} | ` +
        `clsTower zero ${[3, 4, 5, 6, 7].map((l) => fmt(p[`clsTower.P${l}.zero`], 2)).join(' ')} | regTower zero ${[3, 4, 5, 6, 7].map((l) => fmt(p[`regTower.P${l}.zero`], 2)).join(' ')}` +
        (reference === undefined ? '' : ` | max |loss - reference| so far ${maxDiff.toExponential(2)}`),
    );
    windowRows.length = 0;
  }
}
closeSync(file);
trainer.dispose();
detector.dispose();
if (reference !== undefined) console.log(`max |loss - reference| over ${Math.min(iterations, reference.length)} iterations: ${maxDiff.toExponential(3)}`);
