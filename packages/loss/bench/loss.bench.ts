/**
 * Forward + backward of the HPF focal loss against the static focal loss on the same input, in the
 * same process, on the wasm backend (or HPF_BENCH_BACKEND=cpu).
 *
 *   npm run bench:loss            # from the repository root
 *   node --import tsx packages/loss/bench/loss.bench.ts [--runs 9] [--anchors 1] [--images 8] [--delta 0.5]
 *
 * Input: P3-P7 logits of `images` images of 640x640 (strides 8..128) with `anchors` priors per
 * location and 80 classes, batch flattened into priors; ~1.5 % positives, ~1 % ignored priors.
 * Reports the median of `runs` timed runs after 2 warm-up runs of each; the two losses alternate so
 * that machine load affects both alike, in swapped order every other run (the median of the
 * per-pair ratios is printed too).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { parseArgs } from 'node:util';
import { ProgressiveFocus, sigmoidFocalLoss, type LabelTargets } from '../src/index.js';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '9' },
    anchors: { type: 'string', default: '1' },
    images: { type: 'string', default: '8' },
    classes: { type: 'string', default: '80' },
    delta: { type: 'string', default: '0.5' },
  },
});
const runs = Number(values.runs);
const anchors = Number(values.anchors);
const images = Number(values.images);
const numClasses = Number(values.classes);
const delta = Number(values.delta);
const STRIDES = [8, 16, 32, 64, 128];
const SIZE = 640;

/** Deterministic pseudo-random numbers (mulberry32) so every run sees the same input. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function makeLevels(): LabelTargets[] {
  const rand = random(2109);
  return STRIDES.map((stride) => {
    const n = images * anchors * Math.ceil(SIZE / stride) ** 2;
    const logits = new Float32Array(n * numClasses);
    for (let i = 0; i < logits.length; i++) logits[i] = -4.6 + 3 * (rand() - 0.5);
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const r = rand();
      labels[i] = r < 0.015 ? Math.floor(rand() * numClasses) : r < 0.025 ? -1 : numClasses;
    }
    return {
      logits: tf.tensor2d(logits, [n, numClasses]),
      labels: tf.tensor1d(labels, 'int32'),
      labelWeights: tf.ones([n]) as tf.Tensor1D,
    };
  });
}

interface Timing {
  wall: number;
  cpu: number;
}

/** Wall and process CPU time (ms) of one forward + backward; wasm runs on this one thread, so CPU
 * time is the work done even when other processes share the machine. */
function timeStep(levels: LabelTargets[], lossOf: (levels: LabelTargets[]) => tf.Scalar): Timing {
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const { value, grads } = tf.valueAndGrads((...logits: tf.Tensor[]) =>
    lossOf(levels.map((level, i) => ({ ...level, logits: logits[i] as tf.Tensor2D }))),
  )(levels.map((l) => l.logits));
  value.dataSync();
  for (const g of grads) g.dataSync();
  const wall = performance.now() - start;
  const cpu = process.cpuUsage(cpuStart);
  tf.dispose([value, ...grads]);
  return { wall, cpu: (cpu.user + cpu.system) / 1000 };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function main(): Promise<void> {
  const backend = process.env.HPF_BENCH_BACKEND ?? 'wasm';
  if (!(await tf.setBackend(backend))) throw new Error(`cannot initialise the ${backend} backend`);
  const levels = makeLevels();
  const avgFactor = 1000;
  const focus = new ProgressiveFocus({ historyLimit: 0, delta });
  const staticLoss = (ls: LabelTargets[]) =>
    tf.div(tf.addN(ls.map((l) => sigmoidFocalLoss(l, { reduction: 'sum', gamma: 2, alpha: 0.25 }))), avgFactor) as tf.Scalar;
  const hpfLoss = (ls: LabelTargets[]) => focus.focalLoss(ls, { avgFactor }).loss;

  const priors = levels.reduce((n, l) => n + l.logits.shape[0], 0);
  const probe = focus.focalLoss(levels, { avgFactor });
  const gammas = probe.levels.map((l) => l.gamma.toFixed(3));
  probe.loss.dispose();
  console.log(`HPF gammas per level: ${gammas.join(' ')}`);
  console.log(`backend ${tf.getBackend()}, ${images} images 640x640, ${anchors} prior(s)/location, ${numClasses} classes: ${priors} priors, ${priors * numClasses} logits`);
  for (let i = 0; i < 2; i++) {
    timeStep(levels, staticLoss);
    timeStep(levels, hpfLoss);
  }
  const before = tf.memory().numTensors;
  const times = { static: [] as Timing[], hpf: [] as Timing[] };
  for (let i = 0; i < runs; i++) {
    // swap the order every run so that neither loss always pays for the other's garbage collection
    if (i % 2 === 0) {
      times.static.push(timeStep(levels, staticLoss));
      times.hpf.push(timeStep(levels, hpfLoss));
    } else {
      times.hpf.push(timeStep(levels, hpfLoss));
      times.static.push(timeStep(levels, staticLoss));
    }
  }
  if (tf.memory().numTensors !== before) throw new Error(`tensor leak: ${before} -> ${tf.memory().numTensors}`);
  for (const clock of ['wall', 'cpu'] as const) {
    const st = times.static.map((t) => t[clock]);
    const hp = times.hpf.map((t) => t[clock]);
    const s = median(st);
    const h = median(hp);
    console.log(`[${clock}] static focal loss fwd+bwd, median of ${runs}: ${s.toFixed(1)} ms  (${st.map((t) => t.toFixed(0)).join(' ')})`);
    console.log(`[${clock}] HPF focal loss    fwd+bwd, median of ${runs}: ${h.toFixed(1)} ms  (${hp.map((t) => t.toFixed(0)).join(' ')})`);
    const pairs = hp.map((t, i) => t / st[i]!);
    console.log(`[${clock}] HPF / static = ${(h / s).toFixed(3)} (ratio of medians; median of per-pair ratios ${median(pairs).toFixed(3)})`);
  }
  tf.dispose(levels.flatMap((l) => [l.logits, l.labels, l.labelWeights!]));
}

await main();
