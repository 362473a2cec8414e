import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import '../src/index.js';

it('importing the engine registers the gradients and the wasm training kernels', () => {
  for (const op of ['Conv2D', 'GatherV2', 'ResizeNearestNeighbor', 'Sigmoid', 'Relu']) {
    expect(tf.getGradient(op), op).toBeDefined();
  }
  for (const kernel of ['Conv2DBackpropFilter', 'UnsortedSegmentSum']) {
    expect(tf.getKernel(kernel, 'wasm'), kernel).toBeDefined();
  }
});
