import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerWasmTrainingKernels } from '@hpf/engine';
import { evaluateCoco, type CocoAnnotation, type CocoDetection } from '@hpf/eval';
import { generateSplit, PRESETS } from '@hpf/digits-det';
import { concatLevels, createPointGenerator, type DetectorTarget, type SizeHW } from '@hpf/fpn';
import { createFoveaBox, FOVEABOX_DEFAULTS, foveaTargets } from '../src/index.js';

// The README's small-input setting (scale ranges and base edges halved). Digits of at least 24 px
// ink height: FoveaBox's fovea (the central 40 % of a gt box) holds no cell centre of P3 for digits
// narrower than about 1.25 strides (10 px), so such digits get no positive and cannot be learnt
// (see the README's per-level table); every digit of these two images has at least one positive
// (checked below, so a change of the data cannot silently make the test unreachable).
const PRESET = { ...PRESETS.quick, minDigits: 2, maxDigits: 3, minInkHeight: 24, maxInkHeight: 56, maxPartials: 0, maxStrokesOver: 0 };
const SMALL_INPUT = {
  baseEdges: [8, 16, 32, 64, 128],
  scaleRanges: [
    [0.5, 32],
    [16, 64],
    [32, 128],
    [64, 256],
    [128, 1024],
  ] as Array<[number, number]>,
};
const NUM_IMAGES = 2;
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

describe('FoveaBox overfits a few digits-det images (wasm)', () => {
  const data = buildData();
  it('every digit of the two images has a fovea positive under the small-input setting', () => {
    const sizes: SizeHW[] = [16, 8, 4, 2, 1].map((s) => [s, s]);
    const points = concatLevels(createPointGenerator({ strides: FOVEABOX_DEFAULTS.strides }).gridPriors(sizes));
    const options = { numClasses: 10, strides: FOVEABOX_DEFAULTS.strides, sigma: 0.4, ...SMALL_INPUT };
    for (const t of data.targets) {
      for (let g = 0; g < t.labels.length; g++) {
        const one = { boxes: t.boxes.slice(4 * g, 4 * g + 4), labels: t.labels.slice(g, g + 1), ignoreBoxes: new Float32Array(0) };
        expect(foveaTargets(points, sizes, one, options).numPositive).toBeGreaterThan(0);
      }
    }
  });
  for (const hpf of [false, true]) {
    it(`hpf: ${hpf} reaches AP50 >= 0.9 with a flat tensor count`, async () => {
      const images = tf.tensor4d(data.pixels, [data.count, data.size, data.size, 3]);
      const det = createFoveaBox({ numClasses: 10, backbone: 'resnet10-mini', neckChannels: 32, featChannels: 32, stackedConvs: 1, ...SMALL_INPUT, hpf, seed: 0 });
      const optimizer = tf.train.momentum(0.01, 0.9);
      const vars = det.trainableVariables();
      const counts: number[] = [];
      for (let step = 0; step < STEPS; step++) {
        const loss = optimizer.minimize(() => det.computeLoss(images, data.targets).total, true, vars)!;
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
