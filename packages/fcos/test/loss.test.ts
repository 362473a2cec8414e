import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { ProgressiveFocus, resolveHpfOptions } from '@hpf/loss';
import type { DetectorTarget } from '@hpf/fpn';
import { createFcos, fcosLoss } from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const SMALL = { numClasses: 3, backbone: 'resnet10-mini', neckChannels: 32, featChannels: 32, stackedConvs: 1, seed: 2 } as const;

function lcg(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function batch() {
  const rand = lcg(6);
  const images = tf.tensor4d(Float32Array.from({ length: 2 * 64 * 64 * 3 }, () => rand()), [2, 64, 64, 3]);
  const targets: DetectorTarget[] = [
    { boxes: new Float32Array([4, 6, 30, 40, 30, 30, 60, 58]), labels: new Int32Array([0, 2]), ignoreBoxes: new Float32Array(0) },
    { boxes: new Float32Array([10, 12, 22, 20]), labels: new Int32Array([1]), ignoreBoxes: new Float32Array(0) },
  ];
  return { images, targets };
}

describe('FCOS loss', () => {
  it('hpf { delta: 0 } gives the same loss as hpf: false (1e-6); hpf: true changes only loss_cls; stats per level', () => {
    const { images, targets } = batch();
    const values: number[][] = [];
    for (const hpf of [false, { delta: 0 }, true] as const) {
      const det = createFcos({ ...SMALL, hpf });
      const out = det.computeLoss(images, targets);
      values.push([out.total, out.losses.loss_cls!, out.losses.loss_bbox!, out.losses.loss_centerness!].map((t) => t.dataSync()[0]!));
      expect(out.stats.numPositives).toBeGreaterThan(0);
      expect(out.stats.levels).toHaveLength(5);
      expect(out.stats.levels.reduce((s, l) => s + l.numPositives, 0)).toBe(out.stats.numPositives);
      for (const l of out.stats.levels) {
        if (hpf === true) {
          expect(l.gamma).toBeGreaterThanOrEqual(1.5);
          expect(l.gamma).toBeLessThanOrEqual(2.5);
        } else expect([l.gamma, l.alpha]).toEqual([2, 0.25]);
      }
      tf.dispose([out.total, ...Object.values(out.losses)]);
      det.dispose();
    }
    values[0]!.forEach((v, i) => expect(Math.abs(v - values[1]![i]!)).toBeLessThan(1e-6));
    expect(values[2]![2]).toBeCloseTo(values[0]![2]!, 6);
    expect(values[2]![3]).toBeCloseTo(values[0]![3]!, 6);
    expect(values[2]![0]).toBeCloseTo(values[2]![1]! + values[2]![2]! + values[2]![3]!, 5);
    images.dispose();
  });

  it('runs under tf.variableGrads (head variables) with finite gradients and a flat tensor count', () => {
    const { images, targets } = batch();
    const det = createFcos({ ...SMALL, hpf: true });
    const counts: number[] = [];
    for (let i = 0; i < 2; i++) {
      const { value, grads } = tf.variableGrads(() => det.computeLoss(images, targets).total, det.model.head.trainableVariables());
      const norms = tf.tidy(() => Object.values(grads).map((g) => tf.sum(tf.abs(g)).dataSync()[0]!));
      for (const n of norms) expect(Number.isFinite(n)).toBe(true);
      tf.dispose([value, ...Object.values(grads)]);
      counts.push(tf.memory().numTensors);
    }
    expect(counts[1]).toBe(counts[0]);
    det.dispose();
    images.dispose();
  });

  it('rejects unknown and bad options with clear errors', () => {
    expect(() => createFcos({ ...SMALL, centreSampling: true } as never)).toThrow(/unknown option 'centreSampling'/);
    expect(() => createFcos({ ...SMALL, centerSamplingRadius: -1 })).toThrow(/'centerSamplingRadius'/);
    expect(() => createFcos({ ...SMALL, regressRanges: [[0, 64]] })).toThrow(/'regressRanges'/);
  });
});

// Hand-checked tiny case against float64: one level of stride 8, points (4, 4), (12, 4), (4, 12),
// (12, 12); gt [0, 0, 14, 14] (class 0 of 2) covers all four, within 1.5 strides of its centre.
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
const focal64 = (z: number, t: number) =>
  t === 1 ? -0.25 * (1 - sigmoid(z)) ** 2 * Math.log(sigmoid(z)) : -0.75 * sigmoid(z) ** 2 * Math.log(1 - sigmoid(z));
function giou64(a: number[], b: number[]): number {
  const area = (x: number[]) => (x[2]! - x[0]!) * (x[3]! - x[1]!);
  const inter = Math.max(0, Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!)) * Math.max(0, Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!));
  const union = area(a) + area(b) - inter;
  const enclose = (Math.max(a[2]!, b[2]!) - Math.min(a[0]!, b[0]!)) * (Math.max(a[3]!, b[3]!) - Math.min(a[1]!, b[1]!));
  return inter / union - (enclose - union) / enclose;
}

describe('fcosLoss on a hand-made head output', () => {
  it('equals the float64 reference (focal / npos, centerness-weighted GIoU / sum of centerness, BCE / npos)', () => {
    const rand = lcg(12);
    const clsValues = Array.from({ length: 4 * 2 }, () => rand() * 6 - 3);
    const regValues = Array.from({ length: 4 * 4 }, () => 0.2 + rand() * 2);
    const ctrValues = Array.from({ length: 4 }, () => rand() * 4 - 2);
    const points = Float32Array.from([4, 4, 12, 4, 4, 12, 12, 12]);
    const out = fcosLoss(
      {
        cls: [tf.tensor4d(clsValues, [1, 2, 2, 2])],
        reg: [tf.tensor4d(regValues, [1, 2, 2, 4])],
        centerness: [tf.tensor4d(ctrValues, [1, 2, 2, 1])],
        points: [points],
        targets: [{ boxes: Float32Array.from([0, 0, 14, 14]), labels: Int32Array.from([0]), ignoreBoxes: new Float32Array(0) }],
      },
      {
        numClasses: 2,
        strides: [8],
        regressRanges: [[-1, 64]],
        centerSampling: true,
        centerSamplingRadius: 1.5,
        focus: new ProgressiveFocus(resolveHpfOptions(false, { gamma: 2, alpha: 0.25 })),
        bboxLossWeight: 1,
        centernessLossWeight: 1,
      },
    );
    let clsRef = 0;
    let boxSum = 0;
    let weightSum = 0;
    let ctrRef = 0;
    for (let i = 0; i < 4; i++) {
      clsRef += focal64(clsValues[2 * i]!, 1) + focal64(clsValues[2 * i + 1]!, 0);
      const [x, y] = [points[2 * i]!, points[2 * i + 1]!];
      const [l, t, r, b] = [x, y, 14 - x, 14 - y].map((d) => d / 8);
      const c = Math.sqrt((Math.min(l!, r!) / Math.max(l!, r!)) * (Math.min(t!, b!) / Math.max(t!, b!)));
      const p = regValues.slice(4 * i, 4 * i + 4);
      boxSum += c * (1 - giou64([-p[0]!, -p[1]!, p[2]!, p[3]!], [-l!, -t!, r!, b!]));
      weightSum += c;
      const z = ctrValues[i]!;
      ctrRef += -(c * Math.log(sigmoid(z)) + (1 - c) * Math.log(1 - sigmoid(z)));
    }
    expect(out.stats.numPositives).toBe(4);
    expect(out.losses.loss_cls!.dataSync()[0]).toBeCloseTo(clsRef / 4, 5);
    expect(out.losses.loss_bbox!.dataSync()[0]).toBeCloseTo(boxSum / weightSum, 5);
    expect(out.losses.loss_centerness!.dataSync()[0]).toBeCloseTo(ctrRef / 4, 5);
    tf.dispose([out.total, ...Object.values(out.losses)]);
  });
});
