import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import type { DetectorTarget } from '@hpf/dense';

/** The float64 torch reference of test/fixtures/gen_freeanchor_loss.py. */
export interface FreeAnchorFixture {
  imageSize: number;
  strides: number[];
  numClasses: number;
  topk: number;
  anchors: number[];
  numPerLevel: number[];
  targets: Array<{ boxes: number[][]; labels: number[]; ignore: number[][] }>;
  cls: number[];
  reg: number[];
  bags: number[][][];
  boxProb: number[];
  bagMax: Array<[number, number, number]>;
  positive: number;
  negative: number;
  gradCls: number[];
  gradReg: number[];
  hpfLevels: Array<{ numPositives: number; statistic: number | null; gamma: number; alpha: number }>;
  negativeHpf: number;
}

export const fixture = JSON.parse(readFileSync(new URL('./fixtures/freeanchor_loss.json', import.meta.url), 'utf8')) as FreeAnchorFixture;

export const fixtureTargets: DetectorTarget[] = fixture.targets.map((t) => ({
  boxes: Float32Array.from(t.boxes.flat()),
  labels: Int32Array.from(t.labels),
  ignoreBoxes: Float32Array.from(t.ignore.flat()),
}));

/** Per-level anchors of the fixture. */
export function fixtureAnchors(): Float32Array[] {
  let start = 0;
  return fixture.numPerLevel.map((n) => {
    const a = Float32Array.from(fixture.anchors.slice(4 * start, 4 * (start + n)));
    start += n;
    return a;
  });
}

/** Image-major [N, M, k] values -> per-level head outputs [N, H, W, 9 * k] (the caller owns them). */
export function levelOutputs(values: number[], k: number): tf.Tensor4D[] {
  const n = fixture.targets.length;
  const m = fixture.anchors.length / 4;
  let start = 0;
  return fixture.numPerLevel.map((count, l) => {
    const side = Math.ceil(fixture.imageSize / fixture.strides[l]!);
    const out = new Float32Array(n * count * k);
    for (let i = 0; i < n; i++) out.set(values.slice((i * m + start) * k, (i * m + start + count) * k), i * count * k);
    start += count;
    return tf.tensor4d(out, [n, side, side, (count / (side * side)) * k]);
  });
}
