import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { clipByGlobalNorm, registerWasmTrainingKernels } from '@hpf/engine';
import { evaluateCoco, type CocoAnnotation, type CocoDetection } from '@hpf/eval';
import { generateSplit, PRESETS } from '@hpf/digits-det';
import type { DetectorTarget } from '@hpf/fpn';
import { createFreeAnchor } from '../src/index.js';

// A few quick-preset images with 2-3 clearly visible digits each (no partial digits, so every
// digit in the image is annotated): small enough to overfit in seconds on the wasm backend.
const PRESET = { ...PRESETS.quick, minDigits: 2, maxDigits: 3, minInkHeight: 14, maxInkHeight: 48, maxPartials: 0, maxStrokesOver: 0 };
const NUM_IMAGES = 2;
// Bags of 10 anchors instead of the published 50: at 128 px an object of 14-48 px overlaps only a
// few anchors, and a bag of 50 is nearly all zero-IoU anchors, so mean-max stays close to a mean
// and the positive bag loss barely moves in a few dozen steps (measured: AP50 0.4-0.65 after 60-200
// steps with 50, 0.91 / 1.0 after 60 with 10). See README, "small inputs".
const STEPS = Number(process.env.OVERFIT_STEPS ?? 60);

function buildData() {
  const images = [...generateSplit(PRESET, 'train', 3, NUM_IMAGES)];
  const size = PRESET.imageSize;
  const pixels = new Float32Array(images.length * size * size * 3);
  const targets: DetectorTarget[] = [];
  const annotations: CocoAnnotation[] = [];
  images.forEach((img, i) => {
    img.image.data.forEach((v, k) => (pixels[i * size * size * 3 + k] = v / 255));
    const objects = img.objects.filter((o) => o.annotated && o.bbox !== null);
    targets.push({
      boxes: Float32Array.from(objects.flatMap((o) => [o.bbox![0], o.bbox![1], o.bbox![0] + o.bbox![2], o.bbox![1] + o.bbox![3]])),
      labels: Int32Array.from(objects.map((o) => o.digit)),
      ignoreBoxes: new Float32Array(0),
    });
    objects.forEach((o) =>
      annotations.push({ id: annotations.length + 1, image_id: i + 1, category_id: o.digit + 1, bbox: o.bbox!, area: o.bbox![2] * o.bbox![3], iscrowd: 0 }),
    );
  });
  return { pixels, size, targets, annotations, count: images.length };
}

beforeAll(async () => {
  registerWasmTrainingKernels();
  await tf.setBackend('wasm');
});

describe('FreeAnchor overfits a few digits-det images (wasm)', () => {
  const data = buildData();
  for (const hpf of [false, true]) {
    it(`hpf: ${hpf} reaches AP50 >= 0.9 with a flat tensor count`, async () => {
      const images = tf.tensor4d(data.pixels, [data.count, data.size, data.size, 3]);
      const det = createFreeAnchor({ numClasses: 10, backbone: 'resnet10-mini', neckChannels: 32, featChannels: 32, stackedConvs: 1, preAnchorTopk: 10, hpf, seed: 0 });
      const optimizer = tf.train.momentum(0.01, 0.9);
      const vars = det.trainableVariables();
      const counts: number[] = [];
      for (let step = 0; step < STEPS; step++) {
        // The published schedule clips the gradient norm at 35 (mmdetection grad_clip).
        const { value: loss, grads } = tf.variableGrads(() => det.computeLoss(images, data.targets).total, vars);
        const names = Object.keys(grads);
        const clipped = clipByGlobalNorm(names.map((name) => grads[name]!), 35).grads;
        optimizer.applyGradients(names.map((name, k) => ({ name, tensor: clipped[k]! })));
        tf.dispose([...Object.values(grads), ...clipped]);
        expect(Number.isFinite(loss.dataSync()[0])).toBe(true);
        loss.dispose();
        counts.push(tf.memory().numTensors);
      }
      const detections = await det.predict(images);
      const results: CocoDetection[] = detections.flatMap((dets, i) =>
        dets.map((d) => ({ image_id: i + 1, category_id: d.label + 1, bbox: [d.box[0], d.box[1], d.box[2] - d.box[0], d.box[3] - d.box[1]], score: d.score })),
      );
      const dataset = {
        images: Array.from({ length: data.count }, (_, i) => ({ id: i + 1 })),
        annotations: data.annotations,
        categories: Array.from({ length: 10 }, (_, d) => ({ id: d + 1 })),
      };
      const { stats } = evaluateCoco(dataset, results);
      expect(stats.AP50).toBeGreaterThanOrEqual(0.9);
      expect(counts[counts.length - 1]).toBe(counts[10]);
      optimizer.dispose();
      det.dispose();
      images.dispose();
    });
  }
});
