/**
 * Where a wasm training step of the reference net spends its time, per kernel (top-level calls
 * only; the engine's composite kernels include the wasm kernels they call), plus the
 * UnsortedSegmentSum formulations compared. Not a test.
 * Run: node --import tsx packages/engine/bench/kernels.bench.ts
 */
import { register } from 'node:module';
import type { Tensor, Tensor1D, Tensor2D } from '@tensorflow/tfjs-core';

register('../../../tools/tfjs-core-resolve-hook.mjs', import.meta.url);

const tf = await import('@tensorflow/tfjs-core');
await import('@tensorflow/tfjs-backend-wasm');
const { installTrainingKernels } = await import('../src/index.js');
const { createConvNet, makeBatch } = await import('../test/support/conv-net.js');
const { median, REFERENCE_NET } = await import('./support/reference.js');

installTrainingKernels();
await tf.setBackend('wasm');

const net = createConvNet(REFERENCE_NET);
const { images, targets, positives } = makeBatch(net, 8, 128, 2, 64);
const optimizer = tf.train.sgd(0.01);
const step = (): void => {
  const loss = optimizer.minimize(() => net.loss(images, targets, positives), true, net.variables);
  loss?.dataSync();
  loss?.dispose();
};
step();

const totals = new Map<string, number>();
let depth = 0;
for (const kernel of tf.getKernelsForBackend('wasm')) {
  const inner = kernel.kernelFunc;
  (kernel as { kernelFunc: typeof inner }).kernelFunc = (args) => {
    depth++;
    const start = performance.now();
    try {
      return inner(args);
    } finally {
      depth--;
      if (depth === 0) totals.set(kernel.kernelName, (totals.get(kernel.kernelName) ?? 0) + performance.now() - start);
    }
  };
}
const runs = 3;
const start = performance.now();
for (let i = 0; i < runs; i++) step();
const total = (performance.now() - start) / runs;
console.log(`training step: ${total.toFixed(0)} ms (mean of ${runs}); per kernel (ms per step):`);
for (const [name, ms] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, 15)) {
  console.log(`  ${name.padEnd(28)} ${(ms / runs).toFixed(1).padStart(7)}  ${((ms / runs / total) * 100).toFixed(0)}%`);
}

// UnsortedSegmentSum: the engine's ScatterNd formulation vs a one-hot matmul, at the size of a
// gather of positives out of all priors of a 128 px batch.
const numPriors = 8 * 3069;
const ids = tf.randomUniformInt([512], 0, numPriors, 3) as Tensor1D;
const rows = tf.randomNormal([512, 10]) as Tensor2D;
const time = (f: () => Tensor): number => {
  const t: number[] = [];
  for (let i = 0; i < 6; i++) {
    const s = performance.now();
    const r = f();
    r.dataSync();
    r.dispose();
    t.push(performance.now() - s);
  }
  return median(t.slice(1));
};
const scatter = time(() => tf.unsortedSegmentSum(rows, ids, numPriors));
const oneHot = time(() => tf.tidy(() => tf.matMul(tf.oneHot(ids, numPriors), rows, true, false)));
console.log(`UnsortedSegmentSum of 512 rows x 10 into ${numPriors} segments: scatter ${scatter.toFixed(2)} ms, one-hot matmul ${oneHot.toFixed(2)} ms`);
