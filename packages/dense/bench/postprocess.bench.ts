// Post-processing and prior costs per image on the cpu backend, with the tfjs baselines they replace.
// Run from the repo root: node --import tsx packages/dense/bench/postprocess.bench.ts
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import {
  DeltaXYWHCoder,
  PriorCache,
  batchedNms,
  batchedNmsArray,
  createAnchorGenerator,
  featureSizesFor,
  postprocessImage,
  topPairs,
} from '../src/index.js';

const RUNS = 7;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

async function timeIt(fn: () => unknown, runs = RUNS): Promise<number> {
  await fn(); // warm-up
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return median(times);
}

function row(name: string, ms: number, baselineMs?: number): void {
  const ratio = baselineMs === undefined ? '' : `  (baseline / this = ${(baselineMs / ms).toFixed(1)}x)`;
  console.log(`${name.padEnd(48)} ${ms.toFixed(3).padStart(9)} ms${ratio}`);
}

await tf.setBackend('cpu');

// NMS: 5000 class-labelled candidates (10 classes), keep 100, as after nms_pre on 5 levels.
{
  const k = 5000;
  const xy = tf.randomUniform([k, 2], 0, 300, 'float32', 1);
  const wh = tf.randomUniform([k, 2], 10, 80, 'float32', 2);
  const boxes = tf.concat([xy, tf.add(xy, wh)], 1) as tf.Tensor2D;
  const scores = tf.randomUniform([k], 0, 1, 'float32', 3) as tf.Tensor1D;
  const labels = tf.randomUniform([k], 0, 10, 'int32', 4) as tf.Tensor1D;
  const [b, s, l] = [boxes.dataSync() as Float32Array, scores.dataSync() as Float32Array, labels.dataSync() as Int32Array];
  const base = await timeIt(async () => (await batchedNms(boxes, scores, labels, 0.5, 100)).dispose());
  row('batchedNms (tfjs NMS + offset trick), 5000 -> 100', base);
  row('batchedNmsArray (per-class JS), 5000 -> 100', await timeIt(() => batchedNmsArray(b, s, l, 0.5, 100)), base);
  tf.dispose([xy, wh, boxes, scores, labels]);
}

// Top-k of (prior, class) pairs on the biggest level of a 320 px input: 40 * 40 * 9 priors x 10 classes.
{
  const scores = tf.randomUniform([14400 * 10], 0, 0.3, 'float32', 5);
  const base = await timeIt(async () => {
    const r = tf.topk(scores, 1000);
    await r.values.data();
    tf.dispose([r.values, r.indices]);
  });
  row('tf.topk 144000 -> 1000', base);
  row('topPairs (read back + threshold + select)', await timeIt(async () => topPairs((await scores.data()) as Float32Array, 0.05, 1000)), base);
  scores.dispose();
}

// Whole post-processing of one 320 px image (RetinaNet anchors, 10 classes, untrained-like scores).
{
  const gen = createAnchorGenerator({ strides: [8, 16, 32, 64, 128], ratios: [0.5, 1, 2], octaveBaseScale: 4, scalesPerOctave: 3 });
  const sizes = featureSizesFor([320, 320], gen.strides);
  const cache = new PriorCache(gen);
  const { levels, numPerLevel } = cache.get(sizes);
  const coder = new DeltaXYWHCoder();
  const perLevel = levels.map((anchors, i) => ({
    scores: tf.randomUniform([numPerLevel[i]!, 10], 0, 0.3, 'float32', 6 + i) as tf.Tensor2D,
    boxes: coder.decode(anchors, tf.randomNormal([numPerLevel[i]!, 4], 0, 0.2, 'float32', 20 + i), [320, 320]) as tf.Tensor2D,
  }));
  row('postprocessImage, 320 px, 19206 anchors x 10', await timeIt(() => postprocessImage(perLevel)));
  const build = await timeIt(() => {
    const c = new PriorCache(gen);
    c.get(sizes);
    c.dispose();
  });
  row('priors: build + upload (cache miss), 320 px', build);
  row('priors: PriorCache.get hit', await timeIt(() => cache.get(sizes), 101), build);
  perLevel.forEach((p) => tf.dispose([p.scores, p.boxes]));
  cache.dispose();
}
