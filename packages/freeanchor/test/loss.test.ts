import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { ProgressiveFocus, resolveHpfOptions } from '@hpf/loss';
import { DeltaXYWHCoder } from '@hpf/dense';
import {
  expectDeltaZeroMatchesBaseline,
  expectFiniteHeadGradients,
  expectHpfChangesOnlyClassification,
  expectTargetErrors,
  lossBatch,
  SMALL_DETECTOR,
  type HpfSetting,
} from '@hpf/testkit';
import { createFreeAnchor, FREEANCHOR_DEFAULTS, freeAnchorLoss, type FreeAnchorLossOptions } from '../src/index.js';
import { fixture, fixtureAnchors, fixtureTargets, levelOutputs } from './fixture.js';
import { installTrainingKernels } from '@hpf/engine';

// The gradients computeLoss needs under tf.variableGrads (the trainer's set-up).
installTrainingKernels();

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const SMALL = SMALL_DETECTOR;

function lossOptions(hpf: boolean | { delta: number }): FreeAnchorLossOptions {
  const d = FREEANCHOR_DEFAULTS;
  return {
    numClasses: fixture.numClasses,
    preAnchorTopk: fixture.topk,
    bboxThr: d.bboxThr,
    alpha: d.alpha,
    coder: new DeltaXYWHCoder({ stds: d.coderStds }),
    smoothL1Beta: d.smoothL1Beta,
    bboxLossWeight: d.bboxLossWeight,
    ignoreIofThr: d.ignoreIofThr,
    focus: new ProgressiveFocus(resolveHpfOptions(hpf, d.focus)),
  };
}

describe('freeAnchorLoss vs the float64 torch reference (test/fixtures/gen_freeanchor_loss.py)', () => {
  const anchors = fixtureAnchors();

  it('positive and negative bag losses and their gradients (hpf: false)', () => {
    const cls = levelOutputs(fixture.cls, fixture.numClasses);
    const reg = levelOutputs(fixture.reg, 4);
    const options = lossOptions(false);
    const out = freeAnchorLoss({ cls, reg, anchors, targets: fixtureTargets }, options);
    expect(out.losses.positive_bag_loss!.dataSync()[0]).toBeCloseTo(fixture.positive, 5);
    expect(out.losses.negative_bag_loss!.dataSync()[0]).toBeCloseTo(fixture.negative, 5);
    expect(out.total.dataSync()[0]).toBeCloseTo(fixture.positive + fixture.negative, 5);
    expect(out.stats.numPositives).toBe(3);
    expect(out.stats.avgFactor).toBe(3);
    for (const level of out.stats.levels) expect([level.gamma, level.alpha]).toEqual([2, 0.5]);
    tf.dispose([out.total, ...Object.values(out.losses)]);

    // Gradients with respect to the head outputs, against torch autograd.
    const grads = tf.grads((...xs: tf.Tensor[]) => {
      const r = freeAnchorLoss({ cls: xs.slice(0, 2) as tf.Tensor4D[], reg: xs.slice(2) as tf.Tensor4D[], anchors, targets: fixtureTargets }, options);
      tf.dispose(Object.values(r.losses));
      return r.total;
    })([...cls, ...reg]);
    const expectedCls = levelOutputs(fixture.gradCls, fixture.numClasses);
    const expectedReg = levelOutputs(fixture.gradReg, 4);
    [...expectedCls, ...expectedReg].forEach((e, k) => {
      const got = grads[k]!.dataSync();
      const want = e.dataSync();
      let worst = 0;
      let scale = 0;
      want.forEach((v, i) => {
        worst = Math.max(worst, Math.abs(v - got[i]!));
        scale = Math.max(scale, Math.abs(v));
      });
      expect(scale).toBeGreaterThan(0);
      expect(worst).toBeLessThan(1e-5 + 1e-3 * scale);
    });
    tf.dispose([...cls, ...reg, ...grads, ...expectedCls, ...expectedReg]);
  });

  it('HPF: per-level statistic from the bag-max anchors, gamma_l and alpha_l on the negative term', () => {
    const cls = levelOutputs(fixture.cls, fixture.numClasses);
    const reg = levelOutputs(fixture.reg, 4);
    const out = freeAnchorLoss({ cls, reg, anchors, targets: fixtureTargets }, lossOptions(true));
    out.stats.levels.forEach((level, l) => {
      const want = fixture.hpfLevels[l]!;
      expect(level.numPositives).toBe(want.numPositives);
      if (want.statistic === null) expect(level.statistic).toBeNull();
      else expect(level.statistic).toBeCloseTo(want.statistic, 5);
      expect(level.gamma).toBeCloseTo(want.gamma, 5);
      expect(level.alpha).toBeCloseTo(want.alpha, 5);
    });
    expect(out.losses.positive_bag_loss!.dataSync()[0]).toBeCloseTo(fixture.positive, 5);
    expect(out.losses.negative_bag_loss!.dataSync()[0]).toBeCloseTo(fixture.negativeHpf, 5);
    tf.dispose([...cls, ...reg, out.total, ...Object.values(out.losses)]);
  });

  it('no objects: zero positive loss that still reaches the regression outputs, negative loss / 1', () => {
    const cls = levelOutputs(fixture.cls, fixture.numClasses);
    const reg = levelOutputs(fixture.reg, 4);
    const empty = fixtureTargets.map((t) => ({ ...t, boxes: new Float32Array(0), labels: new Int32Array(0), ignoreBoxes: new Float32Array(0) }));
    const out = freeAnchorLoss({ cls, reg, anchors, targets: empty }, lossOptions(false));
    expect(out.losses.positive_bag_loss!.dataSync()[0]).toBe(0);
    // q = sigmoid(z) everywhere; the float64 sum over all logits, / max(1, 0)
    let ref = 0;
    for (const z of fixture.cls) {
      const q = 1 / (1 + Math.exp(-z));
      ref += 0.5 * q * q * -Math.log(1 - q);
    }
    expect(out.losses.negative_bag_loss!.dataSync()[0]).toBeCloseTo(ref, 3);
    expect(out.stats.numPositives).toBe(0);
    tf.dispose([...cls, ...reg, out.total, ...Object.values(out.losses)]);
  });
});

const make = (hpf: HpfSetting) => createFreeAnchor({ ...SMALL, octaveBaseScale: 2, hpf });

describe('FreeAnchor detector loss', () => {
  it('hpf { delta: 0 } gives the same loss as hpf: false (1e-6)', () => {
    const batch = lossBatch();
    expectDeltaZeroMatchesBaseline(make, batch, {
      terms: ['positive_bag_loss', 'negative_bag_loss'],
      numPositives: 3,
      levels: { count: 5, focus: { gamma: 2, alpha: 0.5 } },
    });
    batch.images.dispose();
  });

  it('hpf: true changes only the negative bag loss, and reports stats per level', () => {
    const batch = lossBatch();
    expectHpfChangesOnlyClassification(make, batch, {
      unchanged: ['positive_bag_loss'],
      // one bag-max anchor per object (the three objects have different classes, so none coincide)
      levelPositives: 3,
      gamma0: 2,
      alpha: (gamma) => 1 / gamma,
      statistic: 'positive',
      baseline: { gamma: 2, alpha: 0.5 },
    });
    batch.images.dispose();
  });

  it('crowd boxes remove their anchors from the negative bag loss only', () => {
    const { images, targets } = lossBatch();
    const det = createFreeAnchor({ ...SMALL, octaveBaseScale: 2 });
    const plain = det.computeLoss(images, targets);
    const crowd = det.computeLoss(images, [{ ...targets[0]!, ignoreBoxes: new Float32Array([0, 0, 64, 64]) }, targets[1]!]);
    expect(crowd.losses.positive_bag_loss!.dataSync()[0]).toBeCloseTo(plain.losses.positive_bag_loss!.dataSync()[0]!, 6);
    expect(crowd.losses.negative_bag_loss!.dataSync()[0]).toBeLessThan(plain.losses.negative_bag_loss!.dataSync()[0]! * 0.75);
    tf.dispose([plain.total, crowd.total, ...Object.values(plain.losses), ...Object.values(crowd.losses), images]);
    det.dispose();
  });

  it('runs under tf.variableGrads with finite gradients and no leaked tensors', () => {
    const batch = lossBatch();
    const det = make(true);
    expectFiniteHeadGradients(det, batch);
    det.dispose();
    batch.images.dispose();
  });

  it('rejects unknown options and bad targets with clear errors', () => {
    expect(() => createFreeAnchor({ ...SMALL, topk: 50 } as never)).toThrow(/unknown option 'topk'/);
    expect(() => createFreeAnchor({ ...SMALL, preAnchorTopk: 0 })).toThrow(/preAnchorTopk/);
    expect(() => createFreeAnchor({ ...SMALL, bboxThr: 1 })).toThrow(/bboxThr/);
    expect(() => createFreeAnchor({ ...SMALL, octaveBaseScale: -1 })).toThrow(/octaveBaseScale/);
    expect(() => createFreeAnchor({ ...SMALL, hpf: { gama0: 2 } as never })).toThrow(/gama0/);
    const det = createFreeAnchor(SMALL);
    expectTargetErrors(det, 3);
    det.dispose();
  });
});
