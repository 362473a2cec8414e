// One arm of the demo: trains ATSS on digits-det with or without HPF, evaluates it on the
// held-out split and writes the result as JSON. run.mjs starts both arms as separate processes,
// because the wasm backend uses one core per process.
import { parseArgs } from 'node:util';
import { writeFileSync, renameSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, formatBackendChoice, SgdMomentum, createLrSchedule, trainStep } from '@hpf/engine';
import { createAtss } from '@hpf/atss';
import { readCocoDataset, createBatchLoader } from '@hpf/data';
import { evaluateCoco } from '@hpf/eval';

const { values: args } = parseArgs({
  options: {
    hpf: { type: 'string' },
    data: { type: 'string' },
    out: { type: 'string' },
    steps: { type: 'string', default: '300' },
    seed: { type: 'string', default: '0' },
    'batch-size': { type: 'string', default: '8' },
    lr: { type: 'string', default: '0.01' },
  },
  strict: true,
});
if (args.hpf !== 'on' && args.hpf !== 'off') throw new Error(`--hpf must be 'on' or 'off', got ${args.hpf}`);
if (!args.data || !args.out) throw new Error('--data and --out are required');
const steps = Number(args.steps);
const seed = Number(args.seed);
const batchSize = Number(args['batch-size']);
const tag = `[hpf ${args.hpf}]`;

const backend = await initBackend();
console.log(`${tag} ${formatBackendChoice(backend)}`);

const train = readCocoDataset(`${args.data}/train`);
const val = readCocoDataset(`${args.data}/val`);
const inputSize = train.images[0].width;

// Same model, data order, initial weights and schedule in both arms: only `hpf` differs.
// octaveBaseScale 1 (anchors of one stride) instead of the published 8 spreads the 8-122 px
// digits of 128 px images over P3-P7. The network is smaller than the package default
// (resnet10-mini, 32-channel FPN and head, 2 convs per tower: ~0.5 s per step on one wasm core
// instead of ~1 s) so that enough iterations fit in the demo's 10 minutes. Both arms use it.
const detector = createAtss({
  numClasses: train.categories.length,
  backbone: 'resnet10-mini',
  neckChannels: 32,
  featChannels: 32,
  stackedConvs: 2,
  hpf: args.hpf === 'on',
  seed,
  octaveBaseScale: 1,
});
const variables = detector.trainableVariables();
const optimizer = new SgdMomentum(variables, { momentum: 0.9, weightDecay: 1e-4 });
const schedule = createLrSchedule({
  baseLr: Number(args.lr),
  warmupIters: Math.min(100, Math.floor(steps / 4)),
  warmupRatio: 0.1,
  steps: [Math.floor(steps * 0.75)],
  gamma: 0.1,
});
const loader = createBatchLoader(train, { batchSize, inputSize, seed, dropLast: true });

const gammaTrace = [];
const started = performance.now();
let iteration = 0;
for (let epoch = 0; iteration < steps; epoch++) {
  for (const batch of loader.epoch(epoch)) {
    if (iteration >= steps) {
      batch.images.dispose();
      break;
    }
    let stats;
    const { losses } = trainStep({
      lossFn: () => {
        const out = detector.computeLoss(batch.images, batch.targets);
        stats = out.stats;
        return out.losses;
      },
      variables,
      optimizer,
      lr: schedule(iteration),
      iteration,
    });
    batch.images.dispose();
    gammaTrace.push(stats.levels.map((l) => l.gamma));
    if (iteration % 25 === 0 || iteration === steps - 1) {
      const secs = (performance.now() - started) / 1000;
      const gammas = stats.levels.map((l) => l.gamma.toFixed(2)).join(' ');
      console.log(
        `${tag} iter ${iteration}/${steps}  loss ${losses.total.toFixed(3)} (cls ${losses.loss_cls.toFixed(3)})  gamma P3-P7 ${gammas}  ${((iteration + 1) * batchSize / secs).toFixed(1)} img/s  tensors ${tf.memory().numTensors}`,
      );
    }
    iteration++;
  }
}
const trainSeconds = (performance.now() - started) / 1000;

const evalLoader = createBatchLoader(val, { batchSize, inputSize, shuffle: false, flipProbability: 0 });
const detections = [];
for (const batch of evalLoader.epoch(0)) {
  const perImage = await detector.predict(batch.images, batch.meta);
  batch.images.dispose();
  perImage.forEach((dets, i) => {
    for (const d of dets) {
      const [x1, y1, x2, y2] = d.box;
      detections.push({
        image_id: batch.meta[i].imageId,
        category_id: val.labelToCategoryId[d.label],
        bbox: [x1, y1, x2 - x1, y2 - y1],
        score: d.score,
      });
    }
  });
}
const result = evaluateCoco(val.instances, detections);
const meanLast = (k) => {
  const tail = gammaTrace.slice(-k);
  return tail[0].map((_, l) => tail.reduce((s, g) => s + g[l], 0) / tail.length);
};
const report = {
  detector: 'atss',
  hpf: args.hpf === 'on',
  backend: backend.backend,
  steps,
  batchSize,
  seed,
  trainSeconds,
  stats: result.stats,
  gammaFinal: meanLast(25),
  gammaTrace: gammaTrace.filter((_, i) => i % 10 === 0),
};
writeFileSync(`${args.out}.tmp`, JSON.stringify(report, null, 1));
renameSync(`${args.out}.tmp`, args.out);
console.log(`${tag} done: AP ${result.stats.AP.toFixed(3)} AP50 ${result.stats.AP50.toFixed(3)} in ${trainSeconds.toFixed(0)} s of training`);
detector.dispose();
optimizer.dispose();
