// The wasm backend is what CPU training uses: the model must give the cpu backend's numbers there.
import { afterAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { ConvTower, createBackbone, createFpn, toRng } from '../src/index.js';

afterAll(async () => {
  await tf.setBackend('cpu');
});

async function run(backend: string): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const rng = toRng(3);
  const backbone = createBackbone({ preset: 'resnet10-mini', rng });
  const fpn = createFpn({ inChannels: backbone.outChannels, outChannels: 32, extraConvs: 'on_output', reluBeforeExtraConvs: true, rng });
  const tower = new ConvTower({ inChannels: 32, featChannels: 32, numConvs: 2, norm: { type: 'gn', numGroups: 8 }, rng });
  const images = tf.tensor4d(Float32Array.from({ length: 2 * 70 * 90 * 3 }, (_, i) => Math.sin(i * 0.37)), [2, 70, 90, 3]);
  const start = tf.memory().numTensors;
  const outs = tf.tidy(() => tower.forwardLevels(fpn.forward(backbone.forward(images))));
  const values = await Promise.all(outs.map((o) => o.data() as Promise<Float32Array>));
  tf.dispose(outs);
  expect(tf.memory().numTensors).toBe(start);
  images.dispose();
  [backbone, fpn, tower].forEach((m) => m.dispose());
  return values;
}

describe('wasm backend', () => {
  it('backbone (train-mode BN) + FPN + tower on wasm equal the cpu backend (odd input size)', async () => {
    const cpu = await run('cpu');
    const wasm = await run('wasm');
    expect(wasm.map((v) => v.length)).toEqual(cpu.map((v) => v.length));
    for (const [l, v] of wasm.entries()) {
      let maxDiff = 0;
      v.forEach((x, i) => (maxDiff = Math.max(maxDiff, Math.abs(x - cpu[l]![i]!))));
      expect(maxDiff).toBeLessThan(2e-4);
    }
  });
});
