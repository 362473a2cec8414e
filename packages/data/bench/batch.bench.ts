/**
 * Batch loading speed, median of 5 epochs:
 *   node --import tsx packages/data/bench/batch.bench.ts
 * Writes 64 random 128x128 PNGs, then times an epoch of createBatchLoader (decode, flip,
 * letterbox to 160, normalise, tensor) against a baseline in the same run: decoding the same
 * files alone; and an epoch with scale jitter [0.5, 1.5] and colour jitter (0.4, 0.4, 0.4, 0.1)
 * against the plain epoch.
 */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CocoFolderWriter, createBatchLoader, loadImage, readCocoDataset, seededGenerator, uniform01 } from '../src/index.js';

await tf.setBackend('cpu');
const dir = mkdtempSync(join(tmpdir(), 'hpf-data-bench-'));
const rng = seededGenerator(0);
const writer = new CocoFolderWriter(dir, [{ id: 1, name: 'thing' }]);
for (let i = 0; i < 64; i++) {
  const data = Uint8Array.from({ length: 128 * 128 * 3 }, () => Math.floor(uniform01(rng) * 256));
  writer.addImage(`${i}.png`, { width: 128, height: 128, data }, [{ bbox: [10, 10, 30, 40], categoryId: 1 }]);
}
writer.finish();
const ds = readCocoDataset(dir);
const loader = createBatchLoader(ds, { batchSize: 16, inputSize: 160, seed: 0 });
const augmented = createBatchLoader(ds, { batchSize: 16, inputSize: 160, seed: 0, scaleJitter: [0.5, 1.5], colorJitter: { brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1 } });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const decodeMs: number[] = [];
const epochMs: number[] = [];
const augmentedMs: number[] = [];
for (let r = 0; r < 6; r++) {
  let t = performance.now();
  for (const im of ds.images) loadImage(ds, im);
  const d = (performance.now() - t) / ds.images.length;
  t = performance.now();
  for (const batch of loader.epoch(r)) batch.images.dispose();
  const e = (performance.now() - t) / ds.images.length;
  t = performance.now();
  for (const batch of augmented.epoch(r)) batch.images.dispose();
  const a = (performance.now() - t) / ds.images.length;
  if (r > 0) {
    decodeMs.push(d);
    epochMs.push(e);
    augmentedMs.push(a);
  }
}
rmSync(dir, { recursive: true, force: true });
const e = median(epochMs);
const d = median(decodeMs);
const a = median(augmentedMs);
console.log(`batch loading ${e.toFixed(2)} ms/image (128 px PNG -> 160 px input), decode alone ${d.toFixed(2)} ms/image, ratio ${(e / d).toFixed(2)}`);
console.log(`with scale and colour jitter ${a.toFixed(2)} ms/image, ratio to plain loading ${(a / e).toFixed(2)}`);
