import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { ProgressiveFocus, resolveHpfOptions } from '@hpf/loss';
import { createAnchorGenerator, type DetectorTarget } from '@hpf/dense';
import {
  expectDeltaZeroMatchesBaseline,
  expectFiniteHeadGradients,
  expectHpfChangesOnlyClassification,
  expectTargetErrors,
  giou64,
  lcg,
  lossBatch,
  qfl64,
  sigmoid,
  SMALL_DETECTOR,
  type HpfSetting,
} from '@hpf/testkit';
import { createTood, taskAlignedTargets, toodLoss } from '../src/index.js';
import { installTrainingKernels } from '@hpf/engine';

// The gradients computeLoss needs under tf.variableGrads (the trainer's set-up).
installTrainingKernels();

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const SMALL = { ...SMALL_DETECTOR, stackedConvs: 2, octaveBaseScale: 2 } as const;

const make = (hpf: HpfSetting) => createTood({ ...SMALL, hpf });
const PHASE = (epoch: number) => (epoch === 0 ? 'ATSS warm-up' : 'task alignment learning');

describe('TOOD loss', () => {
  for (const epoch of [0, 4]) {
    it(`hpf { delta: 0 } gives the same loss as hpf: false (1e-6), ${PHASE(epoch)}`, () => {
      const batch = lossBatch();
      expectDeltaZeroMatchesBaseline(make, batch, {
        terms: ['loss_cls', 'loss_bbox'],
        prepare: (det) => {
          det.setEpoch(epoch);
          expect(det.phase).toBe(epoch === 0 ? 'atss' : 'tal');
        },
        // focal loss in the warm-up, quality focal loss (beta only) after it
        levels: { count: 5, focus: { gamma: 2, alpha: epoch === 0 ? 0.25 : null } },
      });
      batch.images.dispose();
    });

    it(`hpf: true changes only loss_cls; gamma (warm-up) / beta (TAL) per level, ${PHASE(epoch)}`, () => {
      const batch = lossBatch();
      expectHpfChangesOnlyClassification(make, batch, {
        unchanged: ['loss_bbox'],
        prepare: (det) => det.setEpoch(epoch),
        gamma0: 2,
        alpha: (gamma) => (epoch === 0 ? 0.5 / gamma : null),
        statistic: 'unchecked',
        baseline: null,
        totalIsSum: false,
        also: (_off, _on, { on }) => expect(on.focus.history.at(-1)!.loss).toBe(epoch === 0 ? 'focal' : 'quality-focal'),
      });
      batch.images.dispose();
    });
  }

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
    const batch = lossBatch();
    const det = make(true);
    const epochs = [0, 4, 4];
    expectFiniteHeadGradients(det, batch, { steps: epochs.length, beforeStep: (step) => det.setEpoch(epochs[step]!) });
    det.dispose();
    batch.images.dispose();
  });

  it('rejects unknown options and bad targets with clear errors', () => {
    expect(() => createTood({ ...SMALL, topK: 13 } as never)).toThrow(/unknown option 'topK'/);
    expect(() => createTood({ ...SMALL, epochs: 0 })).toThrow(/epochs/);
    expect(() => createTood({ ...SMALL, stackedConvs: 0 })).toThrow(/stackedConvs/);
    expect(() => createTood({ ...SMALL, initialEpoch: -1 })).toThrow(/initialEpoch/);
    expect(() => createTood({ ...SMALL, hpf: { gama0: 2 } as never })).toThrow(/gama0/);
    const det = createTood(SMALL);
    expectTargetErrors(det, 3);
    det.dispose();
  });
});

// ---- toodLoss (TAL) on a hand-made head output against float64 arithmetic ----
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
