import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { ProgressiveFocus, resolveHpfOptions } from '@hpf/loss';
import { createAnchorGenerator, type DetectorTarget } from '@hpf/fpn';
import { createTood, taskAlignedTargets, toodLoss } from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const SMALL = { numClasses: 3, backbone: 'resnet10-mini', neckChannels: 32, featChannels: 32, stackedConvs: 2, seed: 7, octaveBaseScale: 2 } as const;

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

const values = (out: { total: tf.Scalar; losses: Record<string, tf.Scalar> }) => [out.total, out.losses.loss_cls!, out.losses.loss_bbox!].map((t) => t.dataSync()[0]!);
const release = (out: { total: tf.Scalar; losses: Record<string, tf.Scalar> }) => tf.dispose([out.total, ...Object.values(out.losses)]);

describe('TOOD loss', () => {
  for (const epoch of [0, 4]) {
    it(`hpf { delta: 0 } gives the same loss as hpf: false (1e-6), ${epoch === 0 ? 'ATSS warm-up' : 'task alignment learning'}`, () => {
      const { images, targets } = batch();
      const totals: number[][] = [];
      for (const hpf of [false, { delta: 0 }] as const) {
        const det = createTood({ ...SMALL, hpf });
        det.setEpoch(epoch);
        expect(det.phase).toBe(epoch === 0 ? 'atss' : 'tal');
        const out = det.computeLoss(images, targets);
        totals.push(values(out));
        expect(out.stats.numPositives).toBeGreaterThan(0);
        release(out);
        det.dispose();
      }
      totals[0]!.forEach((v, i) => expect(Math.abs(v - totals[1]![i]!)).toBeLessThan(1e-6));
      images.dispose();
    });
  }

  it('hpf: true changes only loss_cls; gamma (warm-up) / beta (TAL) per level', () => {
    const { images, targets } = batch();
    const off = createTood({ ...SMALL, hpf: false });
    const on = createTood({ ...SMALL, hpf: true });
    for (const epoch of [0, 4]) {
      off.setEpoch(epoch);
      on.setEpoch(epoch);
      const a = off.computeLoss(images, targets);
      const b = on.computeLoss(images, targets);
      expect(b.losses.loss_bbox!.dataSync()[0]).toBeCloseTo(a.losses.loss_bbox!.dataSync()[0]!, 6);
      expect(b.stats.levels).toHaveLength(5);
      expect(b.stats.levels.reduce((s, l) => s + l.numPositives, 0)).toBe(b.stats.numPositives);
      for (const level of b.stats.levels) {
        expect(level.gamma).toBeGreaterThanOrEqual(1.5);
        expect(level.gamma).toBeLessThanOrEqual(2.5);
        if (epoch === 0) expect(level.alpha).toBeCloseTo(0.5 / level.gamma, 12);
        else expect(level.alpha).toBeNull(); // quality focal loss: beta only
        if (level.numPositives === 0) expect(level.gamma).toBe(2);
      }
      expect(on.focus.history.at(-1)!.loss).toBe(epoch === 0 ? 'focal' : 'quality-focal');
      release(a);
      release(b);
    }
    images.dispose();
    off.dispose();
    on.dispose();
  });

  it('the warm-up length scales with the schedule; setEpoch validates', () => {
    const cases: Array<[number | undefined, number | undefined, number]> = [
      [undefined, undefined, 4],
      [24, undefined, 8],
      [6, undefined, 2],
      [12, 0, 0],
    ];
    for (const [epochs, initialEpoch, expected] of cases) {
      const det = createTood({ ...SMALL, epochs, initialEpoch });
      expect(det.config.initialEpoch).toBe(expected);
      det.setEpoch(expected);
      expect(det.phase).toBe('tal');
      if (expected > 0) {
        det.setEpoch(expected - 1);
        expect(det.phase).toBe('atss');
      }
      expect(() => det.setEpoch(-1)).toThrow(/epoch must be a non-negative integer/);
      det.dispose();
    }
  });

  it('runs under tf.variableGrads with finite gradients and no leaked tensors (both phases)', () => {
    const { images, targets } = batch();
    const det = createTood({ ...SMALL, hpf: true });
    const vars = det.model.head.trainableVariables();
    const counts: number[] = [];
    for (const epoch of [0, 4, 4]) {
      det.setEpoch(epoch);
      const { value, grads } = tf.variableGrads(() => det.computeLoss(images, targets).total, vars);
      const norms = tf.tidy(() => Object.values(grads).map((g) => tf.sum(tf.abs(g)).dataSync()[0]!));
      for (const n of norms) expect(Number.isFinite(n)).toBe(true);
      expect(Math.max(...norms)).toBeGreaterThan(0);
      tf.dispose([value, ...Object.values(grads)]);
      counts.push(tf.memory().numTensors);
    }
    expect(counts[2]).toBe(counts[1]);
    expect(counts[1]).toBe(counts[0]);
    det.dispose();
    images.dispose();
  });

  it('rejects unknown options and bad targets with clear errors', () => {
    expect(() => createTood({ ...SMALL, topK: 13 } as never)).toThrow(/unknown option 'topK'/);
    expect(() => createTood({ ...SMALL, epochs: 0 })).toThrow(/epochs/);
    expect(() => createTood({ ...SMALL, stackedConvs: 0 })).toThrow(/stackedConvs/);
    expect(() => createTood({ ...SMALL, initialEpoch: -1 })).toThrow(/initialEpoch/);
    expect(() => createTood({ ...SMALL, hpf: { gama0: 2 } as never })).toThrow(/gama0/);
    const det = createTood(SMALL);
    const images = tf.zeros([1, 64, 64, 3]) as tf.Tensor4D;
    expect(() => det.computeLoss(images, [{ boxes: new Float32Array([0, 0, 4, 4]), labels: new Int32Array([3]), ignoreBoxes: new Float32Array(0) }])).toThrow(/targets\[0\]\.labels\[0\] = 3/);
    images.dispose();
    det.dispose();
  });
});

// ---- toodLoss (TAL) on a hand-made head output against float64 arithmetic ----
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
function qfl64(z: number, y: number, beta = 2): number {
  const p = sigmoid(z);
  return -(y * Math.log(p) + (1 - y) * Math.log(1 - p)) * Math.abs(y - p) ** beta;
}
function giou64(a: number[], b: number[]): number {
  const area = (x: number[]) => (x[2]! - x[0]!) * (x[3]! - x[1]!);
  const inter = Math.max(0, Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!)) * Math.max(0, Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!));
  const union = area(a) + area(b) - inter;
  const enclose = (Math.max(a[2]!, b[2]!) - Math.min(a[0]!, b[0]!)) * (Math.max(a[3]!, b[3]!) - Math.min(a[1]!, b[1]!));
  return inter / union - (enclose - union) / enclose;
}

describe('toodLoss (task alignment learning) on a hand-made head output', () => {
  it('equals QFL with the normalised alignment targets / sum, plus 2 x target-weighted GIoU / sum', () => {
    const generator = createAnchorGenerator({ strides: [8, 16], ratios: [1], octaveBaseScale: 2, scalesPerOctave: 1 });
    const anchors = generator.gridPriors([
      [4, 4],
      [2, 2],
    ]);
    const rand = lcg(5);
    const C = 2;
    const clsValues = Array.from({ length: 20 * C }, () => rand() * 4 - 2);
    // boxes: around each anchor centre with random sizes (pixels)
    const all = [...anchors[0]!, ...anchors[1]!];
    const boxValues = Array.from({ length: 20 }, (_, i) => {
      const cx = (all[4 * i]! + all[4 * i + 2]!) / 2 + rand() * 4 - 2;
      const cy = (all[4 * i + 1]! + all[4 * i + 3]!) / 2 + rand() * 4 - 2;
      const w = 6 + rand() * 20;
      const h = 6 + rand() * 20;
      return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2];
    }).flat();
    const cls = [tf.tensor4d(clsValues.slice(0, 16 * C), [1, 4, 4, C]), tf.tensor4d(clsValues.slice(16 * C), [1, 2, 2, C])];
    const boxes = [tf.tensor4d(boxValues.slice(0, 64), [1, 4, 4, 4]), tf.tensor4d(boxValues.slice(64), [1, 2, 2, 4])];
    const target: DetectorTarget = { boxes: new Float32Array([2, 2, 18, 18, 6, 4, 24, 26]), labels: new Int32Array([1, 0]), ignoreBoxes: new Float32Array(0) };
    const focus = new ProgressiveFocus(resolveHpfOptions(false, { gamma: 2, alpha: 0.25 }));
    const out = toodLoss({ cls, boxes, anchors, targets: [target] }, { numClasses: C, phase: 'tal', atssTopk: 9, talTopk: 13, talAlpha: 1, talBeta: 6, focus, bboxLossWeight: 2 });

    // float64 reference from the (separately tested) assignment
    const t = taskAlignedTargets(clsValues.map(sigmoid), Float32Array.from(boxValues), Float32Array.from(all), target, { numClasses: C, topk: 13, alpha: 1, beta: 6 });
    expect(t.numPositive).toBeGreaterThan(1);
    let clsRef = 0;
    let boxRef = 0;
    let sum = 0;
    for (let i = 0; i < 20; i++) {
      for (let c = 0; c < C; c++) clsRef += qfl64(clsValues[i * C + c]!, t.labels[i] === c ? t.alignTargets[i]! : 0);
      if (t.gtIndex[i]! >= 0) {
        const w = t.alignTargets[i]!;
        sum += w;
        boxRef += w * (1 - giou64(boxValues.slice(4 * i, 4 * i + 4), Array.from(t.boxTargets.subarray(4 * i, 4 * i + 4))));
      }
    }
    const avg = Math.max(sum, 1);
    expect(out.stats.numPositives).toBe(t.numPositive);
    expect(out.stats.avgFactor).toBeCloseTo(avg, 5);
    expect(out.losses.loss_cls!.dataSync()[0]).toBeCloseTo(clsRef / avg, 4);
    expect(out.losses.loss_bbox!.dataSync()[0]).toBeCloseTo((2 * boxRef) / avg, 4);
    tf.dispose([...cls, ...boxes, out.total, ...Object.values(out.losses)]);
  });
});
