'use strict';
// The consumer's run, written once for both module systems: train.mjs passes what it import()ed,
// train.cjs what it require()d, so each run exercises one of the packages' two builds.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const STEPS = 40;
// The training images of @hpf/testkit's overfit harness: 2-3 whole digits per image, no partial
// digits, so that a small ATSS overfits two images within STEPS steps.
const PRESET_OVERRIDES = { minDigits: 2, maxDigits: 3, minInkHeight: 14, maxInkHeight: 48, minInkSide: 0, maxPartials: 0, maxStrokesOver: 0 };

let current = 'start';
function check(condition, message) {
  if (!condition) throw new Error(message);
}

/**
 * @param {string} format 'esm' | 'cjs'
 * @param {(name: string) => Promise<any>} load loads a package the way this module system does
 * @param {string[]} packageNames every installed @hpf package
 */
async function run(format, load, packageNames) {
  const started = Date.now();
  try {
    current = 'load every @hpf package';
    for (const name of packageNames) {
      const mod = await load(name);
      check(Object.keys(mod).length > 0, `${name} loaded with no exports`);
    }
    const tf = await load('@tensorflow/tfjs-core');
    const engine = await load('@hpf/engine');
    const { createAtss } = await load('@hpf/atss');
    const data = await load('@hpf/data');
    const digitsDet = await load('@hpf/digits-det');
    const { evaluateCoco, formatSummary } = await load('@hpf/eval');

    const engineNode = await load('@hpf/engine/node');

    current = 'importing registers nothing; installTrainingKernels() registers the gradients and kernels';
    check(tf.getGradient('Conv2D') === undefined, 'a gradient is registered before installTrainingKernels(): some import has a side effect');
    engine.installTrainingKernels();
    // tfjs-core alone registers no gradients; @hpf/engine's dist bundles them. If the bundle had
    // reached a second tfjs-core instance, this (the consumer's) one would have none.
    for (const kernel of ['Conv2D', 'Relu', 'Sigmoid', 'GatherV2']) {
      check(tf.getGradient(kernel) !== undefined, `no gradient registered for ${kernel} in the consumer's tfjs-core`);
    }
    for (const config of engine.WASM_REPLACED_KERNELS) {
      const active = tf.getKernel(config.kernelName, 'wasm');
      check(active !== undefined && active.kernelFunc === config.kernelFunc, `wasm kernel ${config.kernelName} is not @hpf/engine's after installTrainingKernels()`);
    }

    current = 'initBackend wasm';
    const choice = await engineNode.initBackend({ prefer: 'wasm' });
    check(tf.getBackend() === 'wasm', `backend is ${tf.getBackend()}, expected wasm`);
    console.log(engineNode.formatBackendChoice(choice));

    current = 'generate and read digits-det';
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `hpf-consumer-${format}-data-`));
    try {
      digitsDet.writeDigitsDet(dir, { preset: { ...digitsDet.PRESETS.quick, ...PRESET_OVERRIDES }, seed: 3, train: 2, val: 1 });
      const dataset = data.readCocoDataset(path.join(dir, 'train'));
      check(dataset.images.length === 2, `expected 2 training images, read ${dataset.images.length}`);
      const loader = data.createBatchLoader(dataset, { batchSize: 2, inputSize: 128, shuffle: false, flipProbability: 0 });
      const [batch] = [...loader.epoch(0)];

      current = 'train ATSS with HPF';
      const tensorsBefore = tf.memory().numTensors;
      const atssOptions = { numClasses: 10, backbone: 'resnet10-mini', neckChannels: 32, featChannels: 32, stackedConvs: 1, octaveBaseScale: 4, hpf: true, seed: 0 };
      const det = createAtss(atssOptions);
      const optimizer = tf.train.momentum(0.01, 0.9);
      const variables = det.trainableVariables();
      const losses = [];
      const tensorCounts = [];
      let gammas = [];
      for (let step = 0; step < STEPS; step++) {
        const loss = optimizer.minimize(() => {
          const out = det.computeLoss(batch.images, batch.targets);
          gammas = out.stats.levels.map((l) => l.gamma);
          return out.total;
        }, true, variables);
        losses.push(loss.dataSync()[0]);
        loss.dispose();
        tensorCounts.push(tf.memory().numTensors);
        check(Number.isFinite(losses[step]), `loss is ${losses[step]} at step ${step}`);
      }
      // Step 0 creates the optimizer's momentum slots; afterwards the count must not move.
      check(tensorCounts.slice(1).every((n) => n === tensorCounts[1]), `numTensors not flat over training: ${tensorCounts.join(',')}`);
      check(gammas.every((g) => g >= 1.5 && g <= 2.5), `HPF gamma per level outside gamma0 +- delta: ${gammas}`);
      check(gammas.some((g) => g !== 2), `HPF gamma per level all equal gamma0 (HPF not in effect): ${gammas}`);
      const head = losses.slice(0, 5).reduce((a, b) => a + b) / 5;
      const tail = losses.slice(-5).reduce((a, b) => a + b) / 5;
      check(tail < 0.75 * head, `loss did not fall: mean of first 5 steps ${head.toFixed(4)}, of last 5 ${tail.toFixed(4)}`);

      current = 'predict and evaluate with @hpf/eval';
      const perImage = await det.predict(batch.images, batch.meta);
      const detections = perImage.flatMap((dets, i) =>
        dets.map((d) => ({
          image_id: batch.meta[i].imageId,
          category_id: dataset.labelToCategoryId[d.label],
          bbox: [d.box[0], d.box[1], d.box[2] - d.box[0], d.box[3] - d.box[1]],
          score: d.score,
        })),
      );
      const { images, categories, annotations } = dataset.instances;
      const gt = { images, categories, annotations: annotations.map((a) => ({ ...a, area: a.area ?? a.bbox[2] * a.bbox[3], iscrowd: a.iscrowd ?? 0 })) };
      const { stats } = evaluateCoco(gt, detections);
      console.log(formatSummary(stats));

      current = 'export with @hpf/model/node and load the model folder back';
      const modelNode = await load('@hpf/model/node');
      const modelDir = path.join(dir, 'model');
      const classes = dataset.instances.categories.map((c) => ({ id: c.id, name: c.name }));
      await modelNode.exportDetector(det, { detector: 'atss', options: atssOptions, classes, inputSize: 128 }, modelDir);
      const exported = await modelNode.loadDetector(modelDir);
      const first = tf.slice(batch.images, [0, 0, 0, 0], [1, 128, 128, 3]);
      const [again] = await exported.detector.predict(first, [batch.meta[0]]);
      first.dispose();
      exported.dispose();
      check(again.length === perImage[0].length, `the exported model found ${again.length} detections on image 0, the trained detector ${perImage[0].length}`);
      again.forEach((d, i) => check(d.label === perImage[0][i].label && d.box.every((v, k) => Math.abs(v - perImage[0][i].box[k]) < 1e-3), `exported detection ${i} differs: ${JSON.stringify(d)} vs ${JSON.stringify(perImage[0][i])}`));
      det.dispose();
      optimizer.dispose();
      batch.images.dispose();
      check(tf.memory().numTensors === tensorsBefore, `numTensors ${tf.memory().numTensors} after disposing everything, ${tensorsBefore} before the detector`);
      check(stats.AP50 >= 0.5, `AP50 ${stats.AP50} on the training images after ${STEPS} steps, expected >= 0.5`);

      const result = { format, steps: STEPS, firstLoss: losses[0], lastLoss: losses[STEPS - 1], AP: stats.AP, AP50: stats.AP50, gammas, numTensors: tensorCounts[1], seconds: (Date.now() - started) / 1000 };
      console.log(`${format}: ATSS + HPF, ${STEPS} steps, loss ${head.toFixed(4)} -> ${tail.toFixed(4)}, AP ${stats.AP.toFixed(3)}, AP50 ${stats.AP50.toFixed(3)}`);
      console.log(`RESULT ${JSON.stringify(result)}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  } catch (err) {
    console.error(`consumer (${format}) failed at step "${current}": ${err && err.stack ? err.stack : err}`);
    process.exitCode = 1;
  }
}

module.exports = { run };
