/**
 * Training-step time of FoveaBox on the wasm backend with the published loss (hpf: false, the
 * baseline) and with HPF (hpf: true), in the same run: what HPF's per-level statistic costs.
 * Run from the repository root: node --import tsx packages/foveabox/bench/step.bench.ts [--runs 9] [--batch 4] [--size 128]
 * Default detector options (resnet18-mini, 64-channel FPN and head) with the README's small-input setting; each number is the
 * median of `runs` steps after two warm-up steps; the two modes alternate step by step.
 */
import { register } from 'node:module';
import { parseArgs } from 'node:util';

// tfjs-core's ESM gradients import is a directory under Node's resolver; resolve it as a file.
register('./support/tfjs-core-resolve-hook.mjs', import.meta.url);

const tf = await import('@tensorflow/tfjs-core');
await import('@tensorflow/tfjs-backend-wasm');
const { registerWasmTrainingKernels } = await import('@hpf/engine');
const { createFoveaBox } = await import('../src/index.js');

const { values } = parseArgs({ options: { runs: { type: 'string', default: '9' }, batch: { type: 'string', default: '4' }, size: { type: 'string', default: '128' } } });
const runs = Number(values.runs);
const batch = Number(values.batch);
const size = Number(values.size);

registerWasmTrainingKernels();
await tf.setBackend('wasm');

const images = tf.randomUniform([batch, size, size, 3], 0, 1, 'float32', 1) as import('@tensorflow/tfjs-core').Tensor4D;
const targets = Array.from({ length: batch }, (_, i) => ({
  boxes: Float32Array.from([8 + i, 10, 40 + i, 50, 60, 20 + i, 120, 90, 20, 70, 44, 100]),
  labels: Int32Array.from([i % 10, (i + 3) % 10, (i + 7) % 10]),
  ignoreBoxes: new Float32Array(0),
}));

const modes = [false, true] as const;
const detectors = modes.map((hpf) => createFoveaBox({ numClasses: 10, hpf, seed: 0, baseEdges: [8, 16, 32, 64, 128], scaleRanges: [[0.5, 32], [16, 64], [32, 128], [64, 256], [128, 1024]] }));
const optimizers = modes.map(() => tf.train.momentum(0.01, 0.9));
const times: number[][] = modes.map(() => []);

function step(m: number): number {
  const det = detectors[m]!;
  const start = performance.now();
  const loss = optimizers[m]!.minimize(() => det.computeLoss(images, targets).total, true, det.trainableVariables())!;
  loss.dataSync();
  loss.dispose();
  return performance.now() - start;
}

for (let i = 0; i < 2; i++) modes.forEach((_, m) => step(m));
for (let i = 0; i < runs; i++) modes.forEach((_, m) => times[m]!.push(step(m)));

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
const [base, hpf] = times.map(median) as [number, number];
console.log(`FoveaBox train step, wasm, batch ${batch} x ${size} px, median of ${runs}:`);
console.log(`  hpf: false  ${base.toFixed(1)} ms`);
console.log(`  hpf: true   ${hpf.toFixed(1)} ms  (ratio ${(hpf / base).toFixed(3)})`);
detectors.forEach((d) => d.dispose());
images.dispose();
