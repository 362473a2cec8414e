import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeImage } from '@hpf/data';
import { loadDetector } from '@hpf/model/node';
import { exportRun } from '../src/export.js';
import { listImages, predictImages } from '../src/predict.js';
import { openRun } from '../src/run-files.js';
import { runTraining } from '../src/train.js';
import { tinyDataset, tinyOptions } from './support.js';

const scratch = (): string => mkdtempSync(join(tmpdir(), 'hpf-cli-export-'));
let data = '';
let run = '';

beforeAll(async () => {
  await tf.setBackend('wasm');
  data = tinyDataset();
  run = scratch();
  // Every detection kept (threshold 0), so the comparison below has many boxes to compare.
  await runTraining(tinyOptions(data, run, { steps: 4, detectorOptions: { test: { scoreThreshold: 0, nmsPre: 200, maxPerImage: 30 } } }));
});

describe('hpf export', () => {
  it("the exported model detects exactly what 'hpf predict' detects on the run", async () => {
    const out = join(scratch(), 'model');
    const written = await exportRun(run, out);
    expect(written.detector).toBe('atss');
    expect(written.iteration).toBe(4);
    expect(readdirSync(out).sort()).toEqual(['group1-shard1of1.bin', 'model.json']);
    const descriptor = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8')).userDefinedMetadata.hpf;
    expect(descriptor).toMatchObject({ detector: 'atss', inputSize: 64, classes: Array.from({ length: 10 }, (_, i) => ({ id: i + 1, name: String(i) })) });

    const images = listImages(join(data, 'val')).slice(0, 2);
    const opened = await openRun(run);
    const predicted = await predictImages(opened.detector, images, {
      inputSize: opened.meta.inputSize,
      batchSize: 1,
      labelToCategoryId: opened.meta.categories.map((c) => c.id),
      classNames: opened.meta.categories.map((c) => c.name),
      drawThreshold: 1,
      outDir: scratch(),
    });
    opened.detector.dispose();

    const model = await loadDetector(out);
    // The first call fills the detector's prior cache; the count must stay flat from then on.
    await model.detect(decodeImage(readFileSync(images[0]!.path), images[0]!.fileName));
    const tensors = tf.memory().numTensors;
    let compared = 0;
    for (const image of images) {
      const fromPredict = predicted.detections.filter((d) => d.image_id === image.id);
      const fromModel = await model.detect(decodeImage(readFileSync(image.path), image.fileName));
      expect(fromModel.length).toBe(fromPredict.length);
      fromModel.forEach((d, i) => {
        const p = fromPredict[i]!;
        expect(d.categoryId).toBe(p.category_id);
        expect(d.score).toBeCloseTo(p.score, 6);
        const [x, y, w, h] = p.bbox as [number, number, number, number];
        [x, y, x + w, y + h].forEach((v, k) => expect(Math.abs(d.box[k]! - v)).toBeLessThan(1e-3));
      });
      compared += fromModel.length;
    }
    expect(compared).toBeGreaterThan(20);
    expect(tf.memory().numTensors).toBe(tensors);
    model.dispose();
  });

  it('refuses a folder that is not empty, naming it, and writes nothing', async () => {
    const out = scratch();
    mkdirSync(join(out, 'keep'));
    writeFileSync(join(out, 'keep', 'x'), '1');
    await expect(exportRun(run, out)).rejects.toThrow(/is not empty; choose a new folder, nothing was written/);
    expect(readdirSync(out)).toEqual(['keep']);
    await expect(exportRun(join(out, 'no-run'), join(out, 'model'))).rejects.toThrow(/--run: .*checkpoint\.hpf not found/);
  });
});
