import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { ProgressiveFocus, resolveHpfOptions } from '@hpf/loss';
import { createAnchorGenerator } from '@hpf/dense';
import {
  expectDeltaZeroMatchesBaseline,
  expectFiniteHeadGradients,
  expectHpfChangesOnlyClassification,
  expectTargetErrors,
  lcg,
  lossBatch,
  lossValues,
  overlaps64,
  qfl64,
  sigmoid,
  SMALL_DETECTOR,
  type HpfSetting,
} from '@hpf/testkit';
import { createGfl, gflLoss, integralDistances } from '../src/index.js';
import { installTrainingKernels } from '@hpf/engine';

// The gradients computeLoss needs under tf.variableGrads (the trainer's set-up).
installTrainingKernels();

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const SMALL = { ...SMALL_DETECTOR, regMax: 8 } as const;

const make = (hpf: HpfSetting) => createGfl({ ...SMALL, octaveBaseScale: 2, hpf });

describe('GFL loss', () => {
  it('hpf { delta: 0 } gives the same loss as hpf: false (1e-6)', () => {
    const batch = lossBatch();
    expectDeltaZeroMatchesBaseline(make, batch, {
      terms: ['loss_cls', 'loss_bbox', 'loss_dfl'],
      levels: { count: 5, focus: { gamma: 2, alpha: null } },
    });
    batch.images.dispose();
  });

  it('hpf: true changes only the classification term and moves beta per level (no alpha)', () => {
    const batch = lossBatch();
    expectHpfChangesOnlyClassification(make, batch, {
      unchanged: ['loss_bbox', 'loss_dfl'],
      gamma0: 2,
      alpha: () => null,
      statistic: 'clipped',
      baseline: { gamma: 2, alpha: null },
      also: (off, on) => {
        // At initialisation every positive's logit is about -4.6 (prior 0.01): s_l > 2.5, beta_l = 2.5.
        expect(on.stats.levels.filter((l) => l.numPositives > 0).every((l) => l.gamma === 2.5)).toBe(true);
        expect(on.losses.loss_cls!.dataSync()[0]).not.toBeCloseTo(off.losses.loss_cls!.dataSync()[0]!, 6);
      },
    });
    batch.images.dispose();
  });

  it('runs under tf.variableGrads with finite gradients and no leaked tensors', () => {
    const batch = lossBatch();
    const det = make(true);
    expectFiniteHeadGradients(det, batch);
    det.dispose();
    batch.images.dispose();
  });

  it('an image batch without boxes gives zero box terms and a finite classification loss', () => {
    const det = createGfl({ ...SMALL, octaveBaseScale: 2 });
    const images = tf.zeros([1, 64, 64, 3]) as tf.Tensor4D;
    const out = det.computeLoss(images, [{ boxes: new Float32Array(0), labels: new Int32Array(0), ignoreBoxes: new Float32Array(0) }]);
    const [, cls, bbox, dfl] = lossValues(out, ['loss_cls', 'loss_bbox', 'loss_dfl']);
    expect(out.stats.numPositives).toBe(0);
    expect([bbox, dfl]).toEqual([0, 0]);
    expect(cls).toBeGreaterThan(0);
    tf.dispose([out.total, ...Object.values(out.losses), images]);
    det.dispose();
  });

  it('rejects unknown options and bad targets with clear errors', () => {
    expect(() => createGfl({ ...SMALL, regmax: 16 } as never)).toThrow(/unknown option 'regmax'/);
    expect(() => createGfl({ ...SMALL, regMax: 0 })).toThrow(/regMax/);
    expect(() => createGfl({ ...SMALL, topk: 0 })).toThrow(/topk/);
    expect(() => createGfl({ ...SMALL, octaveBaseScale: -1 })).toThrow(/octaveBaseScale/);
    expect(() => createGfl({ ...SMALL, hpf: { gama0: 2 } as never })).toThrow(/gama0/);
    const det = createGfl(SMALL);
    expectTargetErrors(det, 3);
    det.dispose();
  });
});

// ---- float64 references ----
function softmax(z: number[]): number[] {
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}
const expectation = (z: number[]) => softmax(z).reduce((s, p, i) => s + i * p, 0);
describe('integralDistances', () => {
  it('is the expectation of the bin softmax, with a gradient matching central differences', () => {
    const rand = lcg(5);
    const regMax = 4;
    const z = Array.from({ length: 2 * 4 * (regMax + 1) }, () => rand() * 4 - 2);
    const x = tf.tensor2d(z, [2, 4 * (regMax + 1)]);
    const d = integralDistances(x, regMax).arraySync() as number[][];
    for (let i = 0; i < 2; i++) for (let j = 0; j < 4; j++) expect(d[i]![j]).toBeCloseTo(expectation(z.slice((4 * i + j) * 5, (4 * i + j + 1) * 5)), 5);
    // d/dz of sum_j c_j d_j against float64 central differences of the reference.
    const c = [0.3, -1.2, 0.7, 2.0, -0.4, 1.1, 0.9, -0.6];
    const f64 = (v: number[]) => {
      let s = 0;
      for (let k = 0; k < 8; k++) s += c[k]! * expectation(v.slice(5 * k, 5 * k + 5));
      return s;
    };
    const grad = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(integralDistances(t, regMax), tf.tensor2d(c, [2, 4]))))(x).dataSync();
    const h = 1e-5;
    z.forEach((_, i) => {
      const up = [...z];
      const down = [...z];
      up[i]! += h;
      down[i]! -= h;
      expect(grad[i]).toBeCloseTo((f64(up) - f64(down)) / (2 * h), 4);
    });
    expect(() => integralDistances(tf.zeros([2, 19]), regMax)).toThrow(/4 x 5 = 20/);
    x.dispose();
  });
});

describe('gflLoss on a hand-made head output', () => {
  it('equals the float64 reference (QFL with IoU targets / npos, w-weighted GIoU x 2 and DFL x 0.25 / 4, / max(sum w, 1))', () => {
    // Anchors of assign.test.ts: gt [2, 2, 18, 18] class 1 of C = 2 makes anchor 5 ([0, 0, 16, 16],
    // level 0, stride 8, centre (8, 8)) the only positive.
    const generator = createAnchorGenerator({ strides: [8, 16], ratios: [1], octaveBaseScale: 2, scalesPerOctave: 1 });
    const anchors = generator.gridPriors([
      [4, 4],
      [2, 2],
    ]);
    const regMax = 4;
    const bins = 4 * (regMax + 1);
    const rand = lcg(11);
    const clsValues = [Array.from({ length: 16 * 2 }, () => rand() * 6 - 3), Array.from({ length: 4 * 2 }, () => rand() * 6 - 3)];
    const regValues = [Array.from({ length: 16 * bins }, () => rand() * 4 - 2), Array.from({ length: 4 * bins }, () => rand() * 4 - 2)];
    const shapes = [4, 2];
    const cls = clsValues.map((v, l) => tf.tensor4d(v, [1, shapes[l]!, shapes[l]!, 2]));
    const reg = regValues.map((v, l) => tf.tensor4d(v, [1, shapes[l]!, shapes[l]!, bins]));
    const focus = new ProgressiveFocus(resolveHpfOptions(false, { gamma: 2 }));
    const out = gflLoss(
      { cls, reg, anchors, strides: [8, 16], targets: [{ boxes: new Float32Array([2, 2, 18, 18]), labels: new Int32Array([1]), ignoreBoxes: new Float32Array(0) }] },
      { numClasses: 2, topk: 4, regMax, focus, bboxLossWeight: 2, dflLossWeight: 0.25 },
    );

    // Stride units: centre (1, 1), gt [.25, .25, 2.25, 2.25].
    const gt = [0.25, 0.25, 2.25, 2.25];
    const z5 = regValues[0]!.slice(5 * bins, 6 * bins);
    const [l, t, r, b] = [0, 1, 2, 3].map((j) => expectation(z5.slice(5 * j, 5 * j + 5)));
    const pred = [1 - l!, 1 - t!, 1 + r!, 1 + b!];
    const { iou, giou } = overlaps64(pred, gt);
    const w = Math.max(sigmoid(clsValues[0]![10]!), sigmoid(clsValues[0]![11]!));
    const allCls = [...clsValues[0]!, ...clsValues[1]!];
    let clsRef = 0;
    for (let i = 0; i < 20; i++) for (let c = 0; c < 2; c++) clsRef += qfl64(allCls[2 * i + c]!, i === 5 && c === 1 ? iou : 0);
    const bboxRef = (2 * w * (1 - giou)) / Math.max(w, 1);
    // DFL targets: distances of the centre to the gt sides, clamped to [0, regMax - 0.1].
    const sides = [0.75, 0.75, 1.25, 1.25];
    let dfl = 0;
    sides.forEach((y, j) => {
      const p = softmax(z5.slice(5 * j, 5 * j + 5));
      const lo = Math.floor(y);
      dfl += -((lo + 1 - y) * Math.log(p[lo]!) + (y - lo) * Math.log(p[lo + 1]!));
    });
    const dflRef = (0.25 * ((w * dfl) / 4)) / Math.max(w, 1);

    expect(out.stats.numPositives).toBe(1);
    expect(out.losses.loss_cls!.dataSync()[0]).toBeCloseTo(clsRef, 5);
    expect(out.losses.loss_bbox!.dataSync()[0]).toBeCloseTo(bboxRef, 5);
    expect(out.losses.loss_dfl!.dataSync()[0]).toBeCloseTo(dflRef, 5);
    expect(out.total.dataSync()[0]).toBeCloseTo(clsRef + bboxRef + dflRef, 5);
    expect(out.stats.levels.map((s) => s.numPositives)).toEqual([1, 0]);
    tf.dispose([...cls, ...reg, out.total, ...Object.values(out.losses)]);
  });
});
