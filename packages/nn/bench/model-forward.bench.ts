// Forward time of backbone + FPN + two head towers on the wasm backend (what CPU training uses).
// Run from the repo root: node --import tsx packages/nn/bench/model-forward.bench.ts [preset ...]
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { ConvTower, createBackbone, createFpn, toRng, type BackbonePreset } from '../src/index.js';

const RUNS = 7;
const BATCH = 8;
const SIZE = 128;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

async function timeForward(preset: BackbonePreset, fpnChannels: number, towerConvs: number): Promise<number> {
  const rng = toRng(1);
  const backbone = createBackbone({ preset, rng });
  const fpn = createFpn({ inChannels: backbone.outChannels, outChannels: fpnChannels, rng });
  const towers = [0, 1].map(
    () => new ConvTower({ inChannels: fpnChannels, featChannels: fpnChannels, numConvs: towerConvs, norm: { type: 'gn', numGroups: 16 }, rng }),
  );
  backbone.eval();
  const images = tf.randomUniform([BATCH, SIZE, SIZE, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
  const run = async () => {
    const outs = tf.tidy(() => {
      const pyramid = fpn.forward(backbone.forward(images));
      return towers.flatMap((t) => t.forwardLevels(pyramid));
    });
    await Promise.all(outs.map((o) => o.data()));
    tf.dispose(outs);
  };
  await run(); // warm-up (kernel setup)
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await run();
    times.push(performance.now() - t0);
  }
  images.dispose();
  backbone.dispose();
  fpn.dispose();
  towers.forEach((t) => t.dispose());
  return median(times);
}

await tf.setBackend('wasm');
const presets = (process.argv.slice(2) as BackbonePreset[]).length > 0 ? (process.argv.slice(2) as BackbonePreset[]) : (['resnet10-mini', 'resnet18-mini'] as BackbonePreset[]);
console.log(`backend ${tf.getBackend()}, input ${BATCH}x${SIZE}x${SIZE}x3, median of ${RUNS}`);
// Baseline in the same run: a single 3x3 conv 64->64 over the P3 map, to compare machines.
const x = tf.randomUniform([BATCH, 16, 16, 64]) as tf.Tensor4D;
const w = tf.randomUniform([3, 3, 64, 64]) as tf.Tensor4D;
const base: number[] = [];
for (let i = 0; i < RUNS + 1; i++) {
  const t0 = performance.now();
  const y = tf.conv2d(x, w, 1, 1);
  await y.data();
  y.dispose();
  if (i > 0) base.push(performance.now() - t0);
}
const baseline = median(base);
console.log(`baseline conv3x3 64->64 on 8x16x16: ${baseline.toFixed(2)} ms`);
for (const preset of presets) {
  const ms = await timeForward(preset, 64, 4);
  console.log(`${preset} + FPN(64, P3-P7) + 2 towers(4 convs, 64 ch, GN16): ${ms.toFixed(1)} ms (${(ms / baseline).toFixed(0)}x baseline)`);
}
