// Our FCOS against its torchvision twin (the parity benchmark's RangeScaledFCOS, regress ranges / 2)
// from the same weights on the same 8 digits-det images. Fixture: fixtures/gen_fcos_twin.py (float64
// torch; the variants it computes are described there).
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DenseHeadOutput, DetectorTarget } from '@hpf/dense';
import { tensorValues } from '@hpf/nn';
import { loadModelWeights, readSafetensors } from '@hpf/nn/node';
import { useWasmTraining } from '@hpf/testkit';
import { createFcos, fcosTargets, type FcosDetector } from '../src/index.js';

type Variant = 'torchvision' | 'torchvision_cw' | 'ours_points' | 'ours';
interface VariantResult {
  losses: Record<'loss_cls' | 'loss_bbox' | 'loss_centerness', number>;
  positivesPerLevel: number[];
  /** Per image: [point index, gt index] of every positive. */
  matched: Array<Array<[number, number]>>;
  grads: Record<string, { groups: Record<string, number>; params?: Record<string, number> }>;
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/fcos_twin.json', import.meta.url), 'utf8')) as {
  regressRanges: Array<[number, number]>;
  numPerLevel: number[];
  targets: Array<{ boxes: number[][]; labels: number[] }>;
  variants: Record<Variant, VariantResult>;
};
const weightsPath = new URL('./fixtures/fcos_twin_weights.safetensors', import.meta.url).pathname;
const batchPath = new URL('./fixtures/fcos_twin_batch.safetensors', import.meta.url).pathname;
const STRIDES = [8, 16, 32, 64, 128];
const SIZE = 128;

const targets: DetectorTarget[] = fixture.targets.map((t) => ({
  boxes: Float32Array.from(t.boxes.flat()),
  labels: Int32Array.from(t.labels),
  ignoreBoxes: new Float32Array(0),
}));

/** The quick preset's FCOS (registry small-input ranges) with the twin's initial weights. */
function twinWeighted(): FcosDetector {
  const det = createFcos({ numClasses: 10, backbone: 'resnet10-mini', neckChannels: 32, featChannels: 32, stackedConvs: 2, regressRanges: fixture.regressRanges });
  loadModelWeights(det.model, weightsPath, 'the quick FCOS');
  return det;
}

/** The batch as ours takes it: NHWC, pixels / 255 (the twin: image.float() / 255). */
function loadImages(): tf.Tensor4D {
  const file = readSafetensors(batchPath);
  const [n, c, h, w] = file.tensors.get('images')!.shape as [number, number, number, number];
  return tf.tidy(() => tf.div(tf.transpose(tf.tensor4d(tensorValues(file, 'images'), [n, c, h, w]), [0, 2, 3, 1]), 255) as tf.Tensor4D);
}

/** Flat (x, y) points of every level, (col + offset) * stride. */
function points(offset: number): { flat: Float32Array; perLevel: number[] } {
  const xs: number[] = [];
  const perLevel = STRIDES.map((s) => {
    const n = Math.ceil(SIZE / s);
    for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) xs.push((x + offset) * s, (y + offset) * s);
    return n * n;
  });
  return { flat: Float32Array.from(xs), perLevel };
}

const relDiff = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);

let det: FcosDetector;
let images: tf.Tensor4D;
beforeAll(async () => {
  await useWasmTraining();
  det = twinWeighted();
  images = loadImages();
});
afterAll(() => {
  det.dispose();
  images.dispose();
});

describe('FCOS vs its torchvision twin, same weights, same batch', () => {
  it('our assigner gives the twin its matches at its points (offset 0) and ours at ours (offset .5)', () => {
    expect(fixture.numPerLevel).toEqual(points(0).perLevel);
    for (const [variant, offset] of [['torchvision', 0], ['ours', 0.5]] as const) {
      const { flat, perLevel } = points(offset);
      const got = targets.map((t) => {
        const a = fcosTargets(flat, perLevel, t, { numClasses: 10, strides: STRIDES, regressRanges: fixture.regressRanges, centerSampling: true, centerSamplingRadius: 1.5 });
        return [...a.gtIndex].flatMap((g, i) => (g >= 0 ? [[i, g]] : []));
      });
      expect(got, variant).toEqual(fixture.variants[variant].matched);
    }
  });

  it('the loss terms and the gradient of every parameter equal the twin with our points and GIoU weighting', () => {
    const want = fixture.variants.ours;
    const stateNames = new Map(det.model.stateDict().map(([name, v]) => [(v as tf.Variable).name, name]));
    const vars = det.trainableVariables();
    let before = 0;
    const terms = ['total', 'loss_cls', 'loss_bbox', 'loss_centerness'] as const;
    let positives = 0;
    for (const term of terms) {
      const { value, grads } = tf.variableGrads(() => {
        const loss = det.computeLoss(images, targets);
        positives = loss.stats.numPositives as number;
        return term === 'total' ? loss.total : loss.losses[term]!;
      }, vars);
      const wantValue = term === 'total' ? Object.values(want.losses).reduce((a, b) => a + b, 0) : want.losses[term];
      expect(relDiff(value.dataSync()[0]!, wantValue), term).toBeLessThan(2e-5);
      const groups = new Map<string, number>();
      const params = new Map<string, number>();
      for (const [id, g] of Object.entries(grads)) {
        const name = stateNames.get(id)!;
        const sq = tf.tidy(() => tf.sum(tf.square(g)).dataSync()[0]!);
        params.set(name, Math.sqrt(sq));
        const group = /(cls_convs|reg_convs|conv_cls|conv_reg|conv_centerness|scales)/.exec(name)?.[1] ?? name.split('.')[0]!;
        groups.set(group, (groups.get(group) ?? 0) + sq);
      }
      for (const [group, norm] of Object.entries(want.grads[term]!.groups)) {
        if (norm > 0) expect(relDiff(Math.sqrt(groups.get(group)!), norm), `${term} ${group}`).toBeLessThan(1e-4);
        else expect(groups.get(group) ?? 0, `${term} ${group}`).toBe(0);
      }
      for (const [name, norm] of Object.entries(want.grads[term]!.params ?? {})) {
        if (norm > 1e-9) expect(relDiff(params.get(name)!, norm), name).toBeLessThan(2e-4);
        else expect(params.get(name)!, name).toBeLessThan(1e-9);
      }
      tf.dispose([value, ...Object.values(grads)]);
      // the first pass fills the prior cache (5 levels and their concatenation)
      if (term === 'total') before = tf.memory().numTensors;
    }
    expect(positives).toBe(want.positivesPerLevel.reduce((a, b) => a + b, 0));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('decodes the targets it assigns back to the gt box on every level (predict round trip)', async () => {
    // Every positive point predicts its own targets: gt class logit +8, centerness logit +8,
    // distances = the assigner's; the rest -20. Predict must give back each matched gt exactly.
    const { flat, perLevel } = points(0.5);
    const assigned = targets.map((t) =>
      fcosTargets(flat, perLevel, t, { numClasses: 10, strides: STRIDES, regressRanges: fixture.regressRanges, centerSampling: true, centerSamplingRadius: 1.5 }),
    );
    expect(new Set(fixture.variants.ours.positivesPerLevel.map((n, l) => (n > 0 ? l : -1)).filter((l) => l >= 0))).toEqual(new Set([0, 1, 2]));
    const starts = perLevel.map((_, l) => perLevel.slice(0, l).reduce((a, b) => a + b, 0));
    const handMade = (): DenseHeadOutput => {
      const level = (l: number, channels: number, fill: (a: (typeof assigned)[number], i: number, c: number) => number) => {
        const side = Math.sqrt(perLevel[l]!);
        const data = new Float32Array(targets.length * perLevel[l]! * channels);
        assigned.forEach((a, n) => {
          for (let p = 0; p < perLevel[l]!; p++) for (let c = 0; c < channels; c++) data[(n * perLevel[l]! + p) * channels + c] = fill(a, starts[l]! + p, c);
        });
        return tf.tensor4d(data, [targets.length, side, side, channels]);
      };
      return {
        cls: STRIDES.map((_, l) => level(l, 10, (a, i, c) => (a.labels[i] === c ? 8 : -20))),
        reg: STRIDES.map((_, l) => level(l, 4, (a, i, c) => (a.gtIndex[i]! >= 0 ? a.distances[4 * i + c]! : -1))),
        centerness: STRIDES.map((_, l) => level(l, 1, (a, i) => (a.gtIndex[i]! >= 0 ? 8 : -20))),
      };
    };
    det.model.forward = handMade;
    const detections = await det.predict(images);
    detections.forEach((dets, n) => {
      const matchedGts = [...new Set([...assigned[n]!.gtIndex].filter((g) => g >= 0))].sort((a, b) => a - b);
      const found = dets.map((d) => {
        const g = fixture.targets[n]!.boxes.findIndex((b) => b.every((v, k) => Math.abs(v - d.box[k]!) < 1e-3));
        expect(d.label).toBe(fixture.targets[n]!.labels[g]);
        return g;
      });
      expect(found.sort((a, b) => a - b), `image ${n}`).toEqual(matchedGts);
    });
  });
});
