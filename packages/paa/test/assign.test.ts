import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { ProgressiveFocus, resolveHpfOptions } from '@hpf/loss';
import { concatLevels, createAnchorGenerator, DeltaXYWHCoder, featureSizesFor } from '@hpf/dense';
import { PAA_DEFAULTS, paaCandidates, paaLoss, paaReassign } from '../src/index.js';
import { fixture, fixtureAnchors, fixtureTargets, levelOutputs } from './fixture.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('PAA assignment vs the float64 reference (test/fixtures/gen_paa.py)', () => {
  const anchors = concatLevels(fixtureAnchors());

  it("the anchor generator's anchors (one per location) equal the script's", () => {
    const generator = createAnchorGenerator({ strides: fixture.strides, ratios: [1], octaveBaseScale: fixture.octaveBaseScale, scalesPerOctave: 1 });
    const ours = concatLevels(generator.gridPriors(featureSizesFor([fixture.imageSize, fixture.imageSize], fixture.strides)));
    expect(Array.from(ours)).toEqual(Array.from(anchors));
  });

  it('candidates: IoU >= 0.1 with a gt, plus every gt\'s best anchors', () => {
    fixtureTargets.forEach((t, i) => {
      const c = paaCandidates(anchors, t, { numClasses: fixture.numClasses, candidateIouThr: 0.1, ignoreIofThr: 0.5 });
      expect(Array.from(c.candidates)).toEqual(fixture.images[i]!.candidates);
      expect(Array.from(c.candidates, (j) => c.gtIndex[j])).toEqual(fixture.images[i]!.candidateGt);
    });
  });

  it('candidate scores, the mixture split and the positives of paaLoss', () => {
    const cls = levelOutputs(fixture.cls, fixture.numClasses);
    const reg = levelOutputs(fixture.reg, 4);
    const iou = levelOutputs(fixture.iou, 1);
    const out = paaLoss(
      { cls, reg, iou, anchors: fixtureAnchors(), targets: fixtureTargets },
      {
        numClasses: fixture.numClasses,
        topk: fixture.topk,
        candidateIouThr: 0.1,
        ignoreIofThr: 0.5,
        coder: new DeltaXYWHCoder({ stds: PAA_DEFAULTS.coderStds }),
        focus: new ProgressiveFocus(resolveHpfOptions(false, PAA_DEFAULTS.focus)),
        scoringFocus: { gamma: 2, alpha: 0.25 },
        bboxLossWeight: 1.3,
        iouLossWeight: 0.5,
      },
    );
    fixture.images.forEach((want, i) => {
      const got = out.targets.candidates[i]!;
      got.loss.forEach((v, k) => expect(v).toBeCloseTo(want.candidateLoss[k]!, 4));
      expect(Array.from(out.targets.positives[i]!.anchors)).toEqual(want.positives);
    });
    expect(out.stats.numPositives).toBe(fixture.numPositives);
    expect(out.losses.loss_cls!.dataSync()[0]).toBeCloseTo(fixture.lossCls, 5);
    expect(out.losses.loss_bbox!.dataSync()[0]).toBeCloseTo(fixture.lossBbox, 5);
    expect(out.losses.loss_iou!.dataSync()[0]).toBeCloseTo(fixture.lossIou, 5);
    tf.dispose([...cls, ...reg, ...iou, out.total, ...Object.values(out.losses)]);
  });
});

describe('paaReassign on hand-made scores', () => {
  it('keeps the low-loss cluster up to its densest sample, per gt, topk per level', () => {
    // One level of 19 anchors; gt 0's candidates 0..8 have losses 0.10..0.18 (tight, mean 0.14) and
    // 9..18 have 3.0..3.9 (spread). The mixture separates the clusters; the low component's densest
    // sample is the one at its mean, 0.14 (anchor 4), so the positives are anchors 0..4.
    const candidates = Int32Array.from({ length: 19 }, (_, k) => k);
    const loss = Float64Array.from({ length: 19 }, (_, k) => (k < 9 ? 0.1 + 0.01 * k : 3 + 0.1 * (k - 9)));
    const gt = new Int32Array(19);
    const all = paaReassign({ candidates, candidateGt: gt, candidateLoss: loss, numPerLevel: [19], numGts: 1, topk: 19 });
    expect(Array.from(all)).toEqual([0, 1, 2, 3, 4]);
    // topk 1 leaves one pooled candidate: fewer than 2, no positive
    expect(paaReassign({ candidates, candidateGt: gt, candidateLoss: loss, numPerLevel: [19], numGts: 1, topk: 1 })).toHaveLength(0);
    // two levels (9 + 10): topk 1 per level pools anchor 0 (loss 0.1) and anchor 9 (loss 3.0); the
    // fit puts one in each component and the positive is anchor 0
    const two = paaReassign({ candidates, candidateGt: gt, candidateLoss: loss, numPerLevel: [9, 10], numGts: 1, topk: 1 });
    expect(Array.from(two)).toEqual([0]);
  });
});
