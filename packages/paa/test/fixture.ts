import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import type { DetectorTarget } from '@hpf/dense';

/** The float64 reference of test/fixtures/gen_paa.py. */
export interface PaaFixture {
  imageSize: number;
  strides: number[];
  octaveBaseScale: number;
  numClasses: number;
  topk: number;
  anchors: number[];
  numPerLevel: number[];
  targets: Array<{ boxes: number[][]; labels: number[] }>;
  cls: number[];
  reg: number[];
  iou: number[];
  images: Array<{ candidates: number[]; candidateGt: number[]; candidateLoss: number[]; positives: number[] }>;
  numPositives: number;
  lossCls: number;
  lossBbox: number;
  lossIou: number;
}

export const fixture = JSON.parse(readFileSync(new URL('./fixtures/paa.json', import.meta.url), 'utf8')) as PaaFixture;

export const fixtureTargets: DetectorTarget[] = fixture.targets.map((t) => ({
  boxes: Float32Array.from(t.boxes.flat()),
  labels: Int32Array.from(t.labels),
  ignoreBoxes: new Float32Array(0),
}));

export function fixtureAnchors(): Float32Array[] {
  let start = 0;
  return fixture.numPerLevel.map((n) => {
    const a = Float32Array.from(fixture.anchors.slice(4 * start, 4 * (start + n)));
    start += n;
    return a;
  });
}

/** Image-major [N, M, k] values -> per-level head outputs [N, H, W, k] (the caller owns them). */
export function levelOutputs(values: number[], k: number): tf.Tensor4D[] {
  const n = fixture.targets.length;
  const m = fixture.anchors.length / 4;
  let start = 0;
  return fixture.numPerLevel.map((count, l) => {
    const side = Math.ceil(fixture.imageSize / fixture.strides[l]!);
    const out = new Float32Array(n * count * k);
    for (let i = 0; i < n; i++) out.set(values.slice((i * m + start) * k, (i * m + start + count) * k), i * count * k);
    start += count;
    return tf.tensor4d(out, [n, side, side, k]);
  });
}
