import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { boxesToOriginal, CocoFolderWriter, createBatchLoader, permutation, readCocoDataset, seededGenerator, type CocoDataset } from '../src/index.js';
import { makeImage, tempDir } from './helpers.js';

let ramp: CocoDataset; // one 2x1 image, red 0 | 100
let many: CocoDataset; // 10 small images

beforeAll(async () => {
  await tf.setBackend('cpu');
  const dir = tempDir();
  const w = new CocoFolderWriter(dir, [{ id: 1, name: 'a' }, { id: 2, name: 'b' }]);
  w.addImage('ramp.png', makeImage(2, 1, (x) => [x * 100, 50, 200]), [{ bbox: [0, 0, 1, 1], categoryId: 2 }, { bbox: [1, 0, 1, 1], categoryId: 1, iscrowd: true }]);
  w.finish();
  ramp = readCocoDataset(dir);

  const dir2 = tempDir();
  const w2 = new CocoFolderWriter(dir2, [{ id: 1, name: 'a' }]);
  for (let i = 0; i < 10; i++) w2.addImage(`${i}.png`, makeImage(4 + i, 3, () => [i, i, i]), [{ bbox: [0, 0, 1 + i, 1], categoryId: 1 }]);
  w2.finish();
  many = readCocoDataset(dir2);
});

describe('seeded shuffle', () => {
  it('permutation is a deterministic permutation of 0..n-1', () => {
    const a = Array.from(permutation(50, seededGenerator(7)));
    expect(Array.from(permutation(50, seededGenerator(7)))).toEqual(a);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(Array.from(permutation(50, seededGenerator(8)))).not.toEqual(a);
    expect(Array.from(permutation(50, seededGenerator(7, 1)))).not.toEqual(a);
  });

  it('epoch plans depend only on (seed, epoch)', () => {
    const opts = { batchSize: 3, inputSize: 16, seed: 123 };
    const a = createBatchLoader(many, opts);
    const b = createBatchLoader(many, opts);
    expect(a.batchesPerEpoch).toBe(4);
    expect(b.plan(2)).toEqual(a.plan(2)); // b never planned epochs 0 and 1
    expect(a.plan(0)).not.toEqual(a.plan(1));
    expect(createBatchLoader(many, { ...opts, seed: 124 }).plan(0)).not.toEqual(a.plan(0));
    const all = a.plan(0).flatMap((p) => p.indices).sort((x, y) => x - y);
    expect(all).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect(a.plan(0).map((p) => p.indices.length)).toEqual([3, 3, 3, 1]);
    expect(createBatchLoader(many, { ...opts, dropLast: true }).plan(0).map((p) => p.indices.length)).toEqual([3, 3, 3]);
    // Flips are drawn: over 10 images at p = .5 both outcomes occur in this epoch.
    const flips = a.plan(0).flatMap((p) => p.flips);
    expect(flips).toContain(true);
    expect(flips).toContain(false);
    expect(createBatchLoader(many, { ...opts, shuffle: false }).plan(0)[0]!.indices).toEqual([0, 1, 2]);
  });

  it('rejects bad and unknown options by name', () => {
    expect(() => createBatchLoader(many, { batchSize: 0, inputSize: 8 })).toThrow(/option batchSize must be a positive integer, got 0/);
    expect(() => createBatchLoader(many, { batchSize: 2, inputSize: 8, flipProb: 1 } as never)).toThrow(/unknown option "flipProb"/);
    expect(() => createBatchLoader(many, { batchSize: 2, inputSize: 8, flipProbability: 2 })).toThrow(/flipProbability must be in \[0, 1\]/);
  });
});

describe('batches', () => {
  it('hand-worked batch: 2x1 image letterboxed into 4x4, values / 255, boxes in input pixels', () => {
    const loader = createBatchLoader(ramp, { batchSize: 1, inputSize: 4, flipProbability: 0 });
    const [batch] = [...loader.epoch(0)];
    expect(batch!.images.shape).toEqual([1, 4, 4, 3]);
    expect(batch!.images.dtype).toBe('float32');
    const px = batch!.images.arraySync()[0]!;
    // Scale 2, top padding 1: rows 1..2 hold red 0, 25, 75, 100 (half-pixel bilinear), rows 0 and 3 are padding (0).
    expect(px[0]!.map((p) => p[0])).toEqual([0, 0, 0, 0]);
    for (const row of [1, 2]) {
      const got = px[row]!.map((p) => p[0]!);
      [0, 25, 75, 100].forEach((v, i) => expect(got[i]).toBeCloseTo(v / 255, 6));
      px[row]!.forEach((p) => {
        expect(p[1]).toBeCloseTo(50 / 255, 6);
        expect(p[2]).toBeCloseTo(200 / 255, 6);
      });
    }
    const t = batch!.targets[0]!;
    expect(Array.from(t.boxes)).toEqual([0, 1, 2, 3]);
    expect(Array.from(t.labels)).toEqual([1]);
    expect(Array.from(t.ignoreBoxes)).toEqual([2, 1, 4, 3]);
    expect(batch!.meta[0]).toEqual({ imageId: 1, fileName: 'ramp.png', originalSize: { width: 2, height: 1 }, scale: [2, 2], offset: [0, 1], flipped: false });
    batch!.images.dispose();
  });

  it('flipped batch mirrors pixels and boxes, and boxesToOriginal undoes both', () => {
    const loader = createBatchLoader(ramp, { batchSize: 1, inputSize: 4, flipProbability: 1 });
    const batch = loader.load(loader.plan(0)[0]!);
    const row = batch.images.arraySync()[0]![1]!.map((p) => p[0]! * 255);
    [100, 75, 25, 0].forEach((v, i) => expect(row[i]).toBeCloseTo(v, 4));
    expect(Array.from(batch.targets[0]!.boxes)).toEqual([2, 1, 4, 3]);
    expect(Array.from(batch.targets[0]!.ignoreBoxes)).toEqual([0, 1, 2, 3]);
    expect(batch.meta[0]!.flipped).toBe(true);
    expect(Array.from(boxesToOriginal(batch.targets[0]!.boxes, batch.meta[0]!))).toEqual([0, 0, 1, 1]);
    batch.images.dispose();
  });

  it('mean/std normalisation leaves padding at 0', () => {
    const loader = createBatchLoader(ramp, { batchSize: 1, inputSize: 4, flipProbability: 0, normalization: { mean: [50, 50, 50], std: [10, 20, 40] } });
    const batch = loader.load(loader.plan(0)[0]!);
    const px = batch.images.arraySync()[0]!;
    expect(px[0]![0]).toEqual([0, 0, 0]);
    expect(px[1]![3]![0]).toBeCloseTo((100 - 50) / 10, 5);
    expect(px[1]![3]![1]).toBeCloseTo(0, 5);
    expect(px[1]![3]![2]).toBeCloseTo((200 - 50) / 40, 5);
    batch.images.dispose();
  });

  it('an epoch over 10 images leaks no tensors and gives the same values for the same seed', () => {
    const before = tf.memory().numTensors;
    const run = () => {
      const sums: number[] = [];
      for (const b of createBatchLoader(many, { batchSize: 4, inputSize: 8, seed: 5 }).epoch(3)) {
        const pixelSum = tf.tidy(() => tf.sum(b.images).dataSync()[0]!);
        sums.push(pixelSum + b.targets.reduce((s, t) => s + t.boxes.reduce((u, v) => u + v, 0), 0));
        b.images.dispose();
      }
      return sums;
    };
    const first = run();
    expect(first).toHaveLength(3);
    expect(tf.memory().numTensors).toBe(before);
    const second = run();
    expect(second).toEqual(first);
  });
});
