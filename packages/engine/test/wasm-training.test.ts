import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, expect, it } from 'vitest';
import { registerWasmTrainingKernels } from '../src/index.js';
import { createConvNet, makeBatch } from './support/conv-net.js';
import { installTrainingKernels } from '../src/index.js';

// What the trainer does before training: tfjs-core's gradients and the wasm kernels.
installTrainingKernels();

beforeAll(async () => {
  registerWasmTrainingKernels();
  await tf.setBackend('wasm');
});

it('trains a GroupNorm/ReLU/stride-2/upsampling/sigmoid conv net on wasm: loss falls, tensors stay flat', () => {
  const net = createConvNet({ stemChannels: [8, 16, 16, 16, 16], fpnChannels: 16, numOutputs: 4, groups: 4, seed: 3 });
  const { images, targets, positives } = makeBatch(net, 2, 64, 5);
  const optimizer = tf.train.momentum(0.05, 0.9);
  const losses: number[] = [];
  const liveTensors: number[] = [];
  const wasmBuffers: number[] = [];
  for (let step = 0; step < 20; step++) {
    const loss = optimizer.minimize(() => net.loss(images, targets, positives), true, net.variables);
    losses.push(loss!.dataSync()[0]!);
    loss!.dispose();
    liveTensors.push(tf.memory().numTensors);
    // Kernel intermediates are backend buffers, invisible to numTensors: count those too.
    wasmBuffers.push(tf.backend().numDataIds());
  }
  // Every kernel the backward pass needs ran on wasm (a missing one throws), and the loss fell.
  expect(losses.every(Number.isFinite)).toBe(true);
  expect(losses[19]!).toBeLessThan(0.8 * losses[0]!);
  // Momentum slots appear on the first step; after that nothing may accumulate.
  expect(new Set(liveTensors.slice(1)).size).toBe(1);
  expect(new Set(wasmBuffers.slice(1)).size).toBe(1);
  optimizer.dispose();
  net.dispose();
  tf.dispose([images, ...targets, ...positives]);
});
