/**
 * Training-step time of ATSS on each backbone preset at 320 and 640 px, wasm backend, one thread.
 * Not a test.
 *
 *   node --import tsx packages/cli/bench/backbone-step.bench.ts [--backbones resnet18,resnet34,resnet50]
 *        [--sizes 320,640] [--batch 2] [--runs 3]
 *
 * One step is what `hpf train` runs with pretrained weights: ATSS with the adapter's head (64-channel
 * FPN and towers of 4 convs, 10 classes), backbone { frozenStages: 1, normEval: true } (mmdetection's
 * fine-tuning setting), forward + loss with assignment, backward, clipping at 35, SgdMomentum(0.9,
 * wd 1e-4) through the engine's trainStep. Weights are random: the values do not change the cost.
 * Images are uniform noise with 1-12 boxes of 4-40% of the side per image, from a fixed seed.
 * Not included: the ImageNet input normalisation `hpf train` adds with pretrained weights (two
 * element-wise ops on the input).
 *
 * ResNet-50 at 640 px with batch 2 aborts the process (the wasm backend's memory is capped at
 * 4 GiB); measure it with `--backbones resnet50 --sizes 640 --batch 1`.
 *
 * The baseline is `resnet18-mini` (the default from-scratch backbone) at the same size. Per size,
 * after one warm-up step each, the backbones take turns step by step (baseline first), so load from
 * other processes on the shared machine hits them alike; the table gives the median over `runs`
 * steps of process CPU time (one thread: what a step costs even when the cores are shared) and of
 * wall time, and the CPU-time ratio to the baseline.
 */
import { register } from 'node:module';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { Tensor4D } from '@tensorflow/tfjs-core';

register('../../../tools/sources-resolve-hook.mjs', import.meta.url);

const tf = await import('@tensorflow/tfjs-core');
await import('@tensorflow/tfjs-backend-wasm');
const { registerWasmTrainingKernels, SgdMomentum, trainStep, createRng } = await import('@hpf/engine');
const { createAtss } = await import('@hpf/atss');

const { values } = parseArgs({
  options: {
    backbones: { type: 'string', default: 'resnet18,resnet34,resnet50' },
    sizes: { type: 'string', default: '320,640' },
    batch: { type: 'string', default: '2' },
    runs: { type: 'string', default: '3' },
  },
});
const BASELINE = 'resnet18-mini';
const backbones = [BASELINE, ...values.backbones.split(',').filter((b) => b !== BASELINE)];
const sizes = values.sizes.split(',').map(Number);
const batch = Number(values.batch);
const runs = Number(values.runs);

registerWasmTrainingKernels();
await tf.setBackend('wasm');

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

function batchFor(size: number, seed: number) {
  const rng = createRng(seed);
  const images = tf.randomUniform([batch, size, size, 3], 0, 1, 'float32', seed) as Tensor4D;
  const targets = Array.from({ length: batch }, () => {
    const count = rng.int(1, 13);
    const boxes = new Float32Array(4 * count);
    const labels = new Int32Array(count);
    for (let g = 0; g < count; g++) {
      const side = size * rng.uniform(0.04, 0.4);
      const x = rng.uniform(0, size - side);
      const y = rng.uniform(0, size - side);
      boxes.set([x, y, x + side, y + side * rng.uniform(0.7, 1)], 4 * g);
      labels[g] = rng.int(0, 10);
    }
    return { boxes, labels, ignoreBoxes: new Float32Array(0) };
  });
  return { images, targets };
}

console.log(`ATSS training step, wasm (1 thread), batch ${batch}, ${runs} timed steps after 1 warm-up; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
console.log('\n| backbone | input | step CPU (median) | step wall (median) | CPU / resnet18-mini |');
console.log('| --- | --- | --- | --- | --- |');
for (const size of sizes) {
  const { images, targets } = batchFor(size, 7);
  const arms = backbones.map((backbone) => {
    const detector = createAtss({ numClasses: 10, hpf: true, seed: 0, backbone: { preset: backbone as never, frozenStages: 1, normEval: true } });
    const variables = detector.trainableVariables();
    const optimizer = new SgdMomentum(variables, { momentum: 0.9, weightDecay: 1e-4 });
    const cpu: number[] = [];
    const wall: number[] = [];
    const step = (): void => {
      const w0 = performance.now();
      const c0 = cpuMs();
      trainStep({
        lossFn: () => {
          const result = detector.computeLoss(images, targets);
          result.total.dispose();
          return result.losses;
        },
        variables,
        optimizer,
        lr: 0.001,
        clipGradNorm: 35,
      });
      cpu.push(cpuMs() - c0);
      wall.push(performance.now() - w0);
    };
    return { backbone, detector, optimizer, step, cpu, wall };
  });
  for (const arm of arms) {
    arm.step();
    arm.cpu.length = 0;
    arm.wall.length = 0;
  }
  for (let r = 0; r < runs; r++) for (const arm of arms) arm.step();
  const base = median(arms[0]!.cpu);
  for (const arm of arms) {
    const c = median(arm.cpu);
    console.log(`| ${arm.backbone} | ${size} | ${(c / 1000).toFixed(2)} s | ${(median(arm.wall) / 1000).toFixed(2)} s | ${(c / base).toFixed(1)}x |`);
    arm.optimizer.dispose();
    arm.detector.dispose();
  }
  images.dispose();
}
console.log(`\nload average at the end ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
