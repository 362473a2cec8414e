import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { ProgressiveFocus, resolveHpfOptions } from '@hpf/loss';
import { DeltaXYWHCoder, type DetectorTarget } from '@hpf/fpn';
import { createFreeAnchor, FREEANCHOR_DEFAULTS, freeAnchorLoss, type FreeAnchorLossOptions } from '../src/index.js';
import { fixture, fixtureAnchors, fixtureTargets, levelOutputs } from './fixture.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const SMALL = { numClasses: 3, backbone: 'resnet10-mini', neckChannels: 32, featChannels: 32, stackedConvs: 1, seed: 7 } as const;

function lcg(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function batch() {
  const rand = lcg(3);
  const images = tf.tensor4d(Float32Array.from({ length: 2 * 64 * 64 * 3 }, () => rand()), [2, 64, 64, 3]);
  const targets: DetectorTarget[] = [
    { boxes: new Float32Array([4, 6, 30, 40, 30, 30, 60, 58]), labels: new Int32Array([0, 2]), ignoreBoxes: new Float32Array(0) },
    { boxes: new Float32Array([10, 12, 22, 20]), labels: new Int32Array([1]), ignoreBoxes: new Float32Array(0) },
  ];
  return { images, targets };
}

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

describe('FreeAnchor detector loss', () => {
  it('hpf { delta: 0 } gives the same loss as hpf: false (1e-6)', () => {
    const { images, targets } = batch();
    const totals: number[][] = [];
    for (const hpf of [false, { delta: 0 }] as const) {
      const det = createFreeAnchor({ ...SMALL, octaveBaseScale: 2, hpf });
      const out = det.computeLoss(images, targets);
      totals.push([out.total, out.losses.positive_bag_loss!, out.losses.negative_bag_loss!].map((t) => t.dataSync()[0]!));
      expect(out.stats.numPositives).toBe(3);
      tf.dispose([out.total, ...Object.values(out.losses)]);
      det.dispose();
    }
    totals[0]!.forEach((v, i) => expect(Math.abs(v - totals[1]![i]!)).toBeLessThan(1e-6));
    images.dispose();
  });

  it('hpf: true changes only the negative bag loss, and reports stats per level', () => {
    const { images, targets } = batch();
    const off = createFreeAnchor({ ...SMALL, octaveBaseScale: 2, hpf: false });
    const on = createFreeAnchor({ ...SMALL, octaveBaseScale: 2, hpf: true });
    const a = off.computeLoss(images, targets);
    const b = on.computeLoss(images, targets);
    expect(b.losses.positive_bag_loss!.dataSync()[0]).toBeCloseTo(a.losses.positive_bag_loss!.dataSync()[0]!, 6);
    expect(b.stats.levels).toHaveLength(5);
    // one bag-max anchor per object (the three objects have different classes, so none coincide)
    expect(b.stats.levels.reduce((s, l) => s + l.numPositives, 0)).toBe(3);
    for (const level of b.stats.levels) {
      expect(level.gamma).toBeGreaterThanOrEqual(1.5);
      expect(level.gamma).toBeLessThanOrEqual(2.5);
      expect(level.alpha).toBeCloseTo(1 / level.gamma, 12);
      if (level.numPositives > 0) expect(level.statistic).toBeGreaterThan(0);
      else expect(level.gamma).toBe(2);
    }
    for (const level of a.stats.levels) expect([level.gamma, level.alpha]).toEqual([2, 0.5]);
    const sum = Object.values(b.losses).reduce((s, t) => s + t.dataSync()[0]!, 0);
    expect(b.total.dataSync()[0]).toBeCloseTo(sum, 5);
    tf.dispose([a.total, b.total, ...Object.values(a.losses), ...Object.values(b.losses), images]);
    off.dispose();
    on.dispose();
  });

  it('crowd boxes remove their anchors from the negative bag loss only', () => {
    const { images, targets } = batch();
    const det = createFreeAnchor({ ...SMALL, octaveBaseScale: 2 });
    const plain = det.computeLoss(images, targets);
    const crowd = det.computeLoss(images, [{ ...targets[0]!, ignoreBoxes: new Float32Array([0, 0, 64, 64]) }, targets[1]!]);
    expect(crowd.losses.positive_bag_loss!.dataSync()[0]).toBeCloseTo(plain.losses.positive_bag_loss!.dataSync()[0]!, 6);
    expect(crowd.losses.negative_bag_loss!.dataSync()[0]).toBeLessThan(plain.losses.negative_bag_loss!.dataSync()[0]! * 0.75);
    tf.dispose([plain.total, crowd.total, ...Object.values(plain.losses), ...Object.values(crowd.losses), images]);
    det.dispose();
  });

  // Head variables only: conv filter gradients of the whole network take minutes on the cpu backend
  // (the overfit test trains every variable on wasm).
  it('runs under tf.variableGrads with finite gradients and no leaked tensors', () => {
    const { images, targets } = batch();
    const det = createFreeAnchor({ ...SMALL, octaveBaseScale: 2, hpf: true });
    const counts: number[] = [];
    for (let i = 0; i < 2; i++) {
      const { value, grads } = tf.variableGrads(() => det.computeLoss(images, targets).total, det.model.head.trainableVariables());
      expect(Object.keys(grads).length).toBe(det.model.head.trainableVariables().length);
      const norms = tf.tidy(() => Object.values(grads).map((g) => tf.sum(tf.abs(g)).dataSync()[0]!));
      for (const n of norms) expect(Number.isFinite(n)).toBe(true);
      expect(Math.max(...norms)).toBeGreaterThan(0);
      tf.dispose([value, ...Object.values(grads)]);
      counts.push(tf.memory().numTensors);
    }
    expect(counts[1]).toBe(counts[0]);
    det.dispose();
    images.dispose();
  });

  it('rejects unknown options and bad targets with clear errors', () => {
    expect(() => createFreeAnchor({ ...SMALL, topk: 50 } as never)).toThrow(/unknown option 'topk'/);
    expect(() => createFreeAnchor({ ...SMALL, preAnchorTopk: 0 })).toThrow(/preAnchorTopk/);
    expect(() => createFreeAnchor({ ...SMALL, bboxThr: 1 })).toThrow(/bboxThr/);
    expect(() => createFreeAnchor({ ...SMALL, octaveBaseScale: -1 })).toThrow(/octaveBaseScale/);
    expect(() => createFreeAnchor({ ...SMALL, hpf: { gama0: 2 } as never })).toThrow(/gama0/);
    const det = createFreeAnchor(SMALL);
    const images = tf.zeros([1, 64, 64, 3]) as tf.Tensor4D;
    expect(() => det.computeLoss(images, [{ boxes: new Float32Array([0, 0, 4, 4]), labels: new Int32Array([3]), ignoreBoxes: new Float32Array(0) }])).toThrow(/targets\[0\]\.labels\[0\] = 3/);
    expect(() => det.computeLoss(images, [])).toThrow(/expected 1 targets/);
    images.dispose();
    det.dispose();
  });
});
