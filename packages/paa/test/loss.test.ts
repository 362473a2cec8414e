import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DetectorTarget } from '@hpf/fpn';
import { createPaa } from '../src/index.js';

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

describe('PAA loss', () => {
  it('hpf { delta: 0 } gives the same loss as hpf: false (1e-6)', () => {
    const { images, targets } = batch();
    const totals: number[][] = [];
    for (const hpf of [false, { delta: 0 }] as const) {
      const det = createPaa({ ...SMALL, octaveBaseScale: 2, hpf });
      const out = det.computeLoss(images, targets);
      totals.push([out.total, out.losses.loss_cls!, out.losses.loss_bbox!, out.losses.loss_iou!].map((t) => t.dataSync()[0]!));
      expect(out.stats.numPositives).toBeGreaterThan(0);
      tf.dispose([out.total, ...Object.values(out.losses)]);
      det.dispose();
    }
    totals[0]!.forEach((v, i) => expect(Math.abs(v - totals[1]![i]!)).toBeLessThan(1e-6));
    images.dispose();
  });

  it('hpf: true changes only the classification term, and reports stats per level', () => {
    const { images, targets } = batch();
    const off = createPaa({ ...SMALL, octaveBaseScale: 2, hpf: false });
    const on = createPaa({ ...SMALL, octaveBaseScale: 2, hpf: true });
    const a = off.computeLoss(images, targets);
    const b = on.computeLoss(images, targets);
    expect(b.losses.loss_bbox!.dataSync()[0]).toBeCloseTo(a.losses.loss_bbox!.dataSync()[0]!, 6);
    expect(b.losses.loss_iou!.dataSync()[0]).toBeCloseTo(a.losses.loss_iou!.dataSync()[0]!, 6);
    expect(b.stats.levels).toHaveLength(5);
    expect(b.stats.levels.reduce((s, l) => s + l.numPositives, 0)).toBe(b.stats.numPositives);
    for (const level of b.stats.levels) {
      expect(level.gamma).toBeGreaterThanOrEqual(1.5);
      expect(level.gamma).toBeLessThanOrEqual(2.5);
      expect(level.alpha).toBeCloseTo(0.5 / level.gamma, 12);
      if (level.numPositives > 0) expect(level.statistic).toBeGreaterThan(0);
      else expect(level.gamma).toBe(2);
    }
    for (const level of a.stats.levels) expect([level.gamma, level.alpha]).toEqual([2, 0.25]);
    // total is the sum of the terms
    const sum = Object.values(b.losses).reduce((s, t) => s + t.dataSync()[0]!, 0);
    expect(b.total.dataSync()[0]).toBeCloseTo(sum, 5);
    tf.dispose([a.total, b.total, ...Object.values(a.losses), ...Object.values(b.losses), images]);
    off.dispose();
    on.dispose();
  });

  // Head variables only: conv filter gradients of the whole network take minutes on the cpu backend
  // (the overfit test trains every variable on wasm).
  it('runs under tf.variableGrads with finite gradients and no leaked tensors', () => {
    const { images, targets } = batch();
    const det = createPaa({ ...SMALL, octaveBaseScale: 2, hpf: true });
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
    // The first call fills the prior cache; after that a step leaves nothing behind.
    expect(counts[1]).toBe(counts[0]);
    det.dispose();
    images.dispose();
  });

  it('rejects unknown options and bad targets with clear errors', () => {
    expect(() => createPaa({ ...SMALL, topK: 9 } as never)).toThrow(/unknown option 'topK'/);
    expect(() => createPaa({ ...SMALL, numClasses: 0 })).toThrow(/numClasses/);
    expect(() => createPaa({ ...SMALL, topk: 0 })).toThrow(/topk/);
    expect(() => createPaa({ ...SMALL, octaveBaseScale: 0 })).toThrow(/octaveBaseScale/);
    expect(() => createPaa({ ...SMALL, hpf: { gama0: 2 } as never })).toThrow(/gama0/);
    const det = createPaa(SMALL);
    const images = tf.zeros([1, 64, 64, 3]) as tf.Tensor4D;
    expect(() => det.computeLoss(images, [{ boxes: new Float32Array([0, 0, 4, 4]), labels: new Int32Array([3]), ignoreBoxes: new Float32Array(0) }])).toThrow(/targets\[0\]\.labels\[0\] = 3/);
    expect(() => det.computeLoss(images, [])).toThrow(/expected 1 targets/);
    images.dispose();
    det.dispose();
  });
});
