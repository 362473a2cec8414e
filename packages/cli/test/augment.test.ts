import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { installTrainingKernels } from '@hpf/engine';
import { beforeAll, describe, expect, it } from 'vitest';
import { DETECTORS } from '../src/registry.js';
import { buildDetector, detectorOptionsFor, TRAIN_DEFAULTS, type TrainOptions } from '../src/train.js';

beforeAll(async () => {
  installTrainingKernels();
  await tf.setBackend('wasm');
});

describe('scale jitter can crop every box of an image away', () => {
  const empty = { boxes: new Float32Array(0), labels: new Int32Array(0), ignoreBoxes: new Float32Array(0) };
  const one = { boxes: Float32Array.from([2, 3, 20, 26]), labels: Int32Array.from([1]), ignoreBoxes: new Float32Array(0) };
  it.each(Object.keys(DETECTORS))('%s: finite loss and gradients for an image without boxes beside one with a box, and for a batch without any', async (detector) => {
    const images = tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const options: TrainOptions = { ...TRAIN_DEFAULTS, detector, hpf: true, data: 'x', out: 'y', backbone: 'resnet10-mini', neckChannels: 32, featChannels: 32, stackedConvs: 1 };
    const det = await buildDetector(detector, detectorOptionsFor(options, 3, 32, 2));
    try {
      for (const targets of [[empty, one], [empty, empty]]) {
        const { value, grads } = tf.variableGrads(() => det.computeLoss(images, targets).total);
        const loss = value.dataSync()[0]!;
        const finite = Object.values(grads).every((g) => tf.tidy(() => tf.all(tf.isFinite(g)).dataSync()[0]) === 1);
        tf.dispose([value, ...Object.values(grads)]);
        expect(Number.isFinite(loss), 'loss').toBe(true);
        expect(finite, 'gradients').toBe(true);
      }
    } finally {
      det.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    images.dispose();
  });
});
