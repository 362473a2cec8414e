import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boxesToOriginal, createBatchLoader, readCocoDataset, type DetectionBatch } from '@hpf/data';
import { PRESETS, writeDigitsDet } from '@hpf/digits-det';
import { createAtss } from '../src/index.js';

// The real input pipeline: a digits-det COCO folder read by @hpf/data, letterboxed to 96 px (so
// the metas are not the identity) and mirrored, fed straight into computeLoss and predict.
let dir = '';
let batch: DetectionBatch;

beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = mkdtempSync(join(tmpdir(), 'hpf-atss-'));
  writeDigitsDet(dir, { preset: PRESETS.quick, seed: 5, train: 2, val: 0 });
  const dataset = readCocoDataset(join(dir, 'train'));
  const loader = createBatchLoader(dataset, { batchSize: 2, inputSize: 96, shuffle: false, flipProbability: 1 });
  batch = loader.load(loader.plan(0)[0]!);
});

afterAll(() => {
  batch?.images.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('ATSS on @hpf/data batches', () => {
  it("takes the loader's images, targets and metas as they are", async () => {
    const det = createAtss({ numClasses: 10, backbone: 'resnet10-mini', neckChannels: 32, featChannels: 32, stackedConvs: 1, octaveBaseScale: 4, test: { scoreThreshold: 0 } });
    const out = det.computeLoss(batch.images, batch.targets);
    expect(out.stats.numPositives).toBeGreaterThan(0);
    expect(Number.isFinite(out.total.dataSync()[0])).toBe(true);
    tf.dispose([out.total, ...Object.values(out.losses)]);

    const inInput = await det.predict(batch.images);
    const inOriginal = await det.predict(batch.images, batch.meta);
    inOriginal.forEach((dets, i) => {
      expect(dets).toHaveLength(inInput[i]!.length);
      const meta = batch.meta[i]!;
      dets.forEach((d, k) => {
        const expected = boxesToOriginal(Float32Array.from(inInput[i]![k]!.box), meta);
        d.box.forEach((v, j) => expect(v).toBeCloseTo(expected[j]!, 4));
        expect(d.box[2]).toBeLessThanOrEqual(meta.originalSize.width);
      });
    });
    det.dispose();
  });

});
