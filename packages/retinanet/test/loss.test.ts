import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { ProgressiveFocus, resolveHpfOptions } from '@hpf/loss';
import { DeltaXYWHCoder, type DetectorTarget } from '@hpf/fpn';
import { createRetinaNet, retinaLoss } from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const SMALL = { numClasses: 3, backbone: 'resnet10-mini', neckChannels: 32, featChannels: 32, stackedConvs: 1, seed: 5, octaveBaseScale: 2 } as const;

function lcg(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function batch() {
  const rand = lcg(4);
  const images = tf.tensor4d(Float32Array.from({ length: 2 * 64 * 64 * 3 }, () => rand()), [2, 64, 64, 3]);
  const targets: DetectorTarget[] = [
    { boxes: new Float32Array([4, 6, 30, 40, 30, 30, 60, 58]), labels: new Int32Array([0, 2]), ignoreBoxes: new Float32Array(0) },
    { boxes: new Float32Array([10, 12, 22, 20]), labels: new Int32Array([1]), ignoreBoxes: new Float32Array(0) },
  ];
  return { images, targets };
}

describe('RetinaNet loss', () => {
  it('hpf { delta: 0 } gives the same loss as hpf: false (1e-6); hpf: true changes only loss_cls', () => {
    const { images, targets } = batch();
    const values: number[][] = [];
    for (const hpf of [false, { delta: 0 }, true] as const) {
      const det = createRetinaNet({ ...SMALL, hpf });
      const out = det.computeLoss(images, targets);
      values.push([out.total, out.losses.loss_cls!, out.losses.loss_bbox!].map((t) => t.dataSync()[0]!));
      expect(out.stats.numPositives).toBeGreaterThan(0);
      expect(out.stats.levels).toHaveLength(5);
      expect(out.stats.levels.reduce((s, l) => s + l.numPositives, 0)).toBe(out.stats.numPositives);
      if (hpf === true) for (const l of out.stats.levels) expect(l.gamma).toBeGreaterThanOrEqual(1.5), expect(l.gamma).toBeLessThanOrEqual(2.5);
      else for (const l of out.stats.levels) expect([l.gamma, l.alpha]).toEqual([2, 0.25]);
      tf.dispose([out.total, ...Object.values(out.losses)]);
      det.dispose();
    }
    values[0]!.forEach((v, i) => expect(Math.abs(v - values[1]![i]!)).toBeLessThan(1e-6));
    expect(values[2]![2]).toBeCloseTo(values[0]![2]!, 6);
    expect(values[2]![0]).toBeCloseTo(values[2]![1]! + values[2]![2]!, 5);
    images.dispose();
  });

  it('runs under tf.variableGrads (head variables) with finite gradients and a flat tensor count', () => {
    const { images, targets } = batch();
    const det = createRetinaNet({ ...SMALL, hpf: true });
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

  it('rejects unknown options with clear errors', () => {
    expect(() => createRetinaNet({ ...SMALL, boxloss: 'l1' } as never)).toThrow(/unknown option 'boxloss'/);
    expect(() => createRetinaNet({ ...SMALL, boxLoss: 'l2' as never })).toThrow(/'boxLoss'/);
    expect(() => createRetinaNet({ ...SMALL, lowQualityStyle: 'detectron' as never })).toThrow(/'lowQualityStyle'/);
  });
});

// Hand-checked tiny case against float64. One 2 x 2 level of stride 8 with two anchors per
// location: [8x-4, 8y-4, 8x+4, 8y+4] and [8x-8, 8y-8, 8x+8, 8y+8]. gt [-3,-3,5,5] (class 1 of 2):
// IoU 49/79 = .620 with anchor 0 (positive), .25 with anchor 1 and < .15 with all others
// (background). Anchor 0's target deltas: centre shift (1, 1) / 8, sizes equal -> (.125, .125, 0, 0).
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
const focal64 = (z: number, t: number) =>
  t === 1 ? -0.25 * (1 - sigmoid(z)) ** 2 * Math.log(sigmoid(z)) : -0.75 * sigmoid(z) ** 2 * Math.log(1 - sigmoid(z));

describe('retinaLoss on a hand-made head output', () => {
  for (const beta of [0, 0.11]) {
    it(`equals the float64 reference (focal / npos, ${beta === 0 ? 'L1' : 'smooth L1'} on deltas / npos)`, () => {
      const anchors = new Float32Array(8 * 4);
      let k = 0;
      for (let y = 0; y < 2; y++) for (let x = 0; x < 2; x++) for (const half of [4, 8]) anchors.set([8 * x - half, 8 * y - half, 8 * x + half, 8 * y + half], 4 * k++);
      const rand = lcg(9);
      const clsValues = Array.from({ length: 8 * 2 }, () => rand() * 6 - 3);
      const regValues = Array.from({ length: 8 * 4 }, () => rand() - 0.5);
      const cls = tf.tensor4d(clsValues, [1, 2, 2, 4]);
      const reg = tf.tensor4d(regValues, [1, 2, 2, 8]);
      const out = retinaLoss(
        { cls: [cls], reg: [reg], anchors: [anchors], targets: [{ boxes: Float32Array.from([-3, -3, 5, 5]), labels: Int32Array.from([1]), ignoreBoxes: new Float32Array(0) }] },
        {
          numClasses: 2,
          posIouThr: 0.5,
          negIouThr: 0.4,
          lowQualityStyle: 'mmdet',
          ignoreIofThr: 0.5,
          coder: new DeltaXYWHCoder(),
          focus: new ProgressiveFocus(resolveHpfOptions(false, { gamma: 2, alpha: 0.25 })),
          smoothL1Beta: beta,
          bboxLossWeight: 1,
        },
      );
      let clsRef = 0;
      for (let i = 0; i < 8; i++) for (let c = 0; c < 2; c++) clsRef += focal64(clsValues[2 * i + c]!, i === 0 && c === 1 ? 1 : 0);
      const bboxRef = [0.125, 0.125, 0, 0].reduce((s, t, j) => {
        const d = Math.abs(regValues[j]! - t);
        return s + (beta === 0 ? d : d < beta ? (0.5 * d * d) / beta : d - 0.5 * beta);
      }, 0);
      expect(out.stats.numPositives).toBe(1);
      expect(out.losses.loss_cls!.dataSync()[0]).toBeCloseTo(clsRef, 5);
      expect(out.losses.loss_bbox!.dataSync()[0]).toBeCloseTo(bboxRef, 5);
      tf.dispose([cls, reg, out.total, ...Object.values(out.losses)]);
    });
  }
});
