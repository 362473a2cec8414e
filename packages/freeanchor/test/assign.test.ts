import { describe, expect, it } from 'vitest';
import { boxIoUArray, concatLevels, createAnchorGenerator, featureSizesFor } from '@hpf/dense';
import { anchorBags, boxProbability } from '../src/index.js';
import { fixture, fixtureAnchors, fixtureTargets } from './fixture.js';

describe('FreeAnchor bags and box probability vs the float64 torch reference', () => {
  const anchors = concatLevels(fixtureAnchors());

  it("the anchor generator's anchors (octave base scale 1, 9 per location) equal the script's", () => {
    const generator = createAnchorGenerator({ strides: fixture.strides, ratios: [0.5, 1, 2], octaveBaseScale: 1, scalesPerOctave: 3 });
    const ours = concatLevels(generator.gridPriors(featureSizesFor([fixture.imageSize, fixture.imageSize], fixture.strides)));
    expect(ours.length).toBe(anchors.length);
    ours.forEach((v, i) => expect(Math.abs(v - anchors[i]!)).toBeLessThan(1e-4));
  });

  it('bags are the top-50 anchors by IoU of each object (torch.topk over box_iou)', () => {
    fixtureTargets.forEach((t, i) => {
      const bags = anchorBags(anchors, t.boxes, fixture.topk);
      const ours = Array.from({ length: t.labels.length }, (_, o) => Array.from(bags.subarray(o * 50, (o + 1) * 50)).sort((a, b) => a - b));
      expect(ours).toEqual(fixture.bags[i]);
    });
  });

  it('bags are ordered by IoU, ties to the lower index, and need enough anchors', () => {
    // Four anchors; the object overlaps anchors 1 and 3 equally and anchor 2 best.
    const a = new Float32Array([50, 50, 60, 60, 0, 0, 10, 10, 2, 2, 10, 10, 0, 0, 10, 10]);
    const gt = new Float32Array([2, 2, 10, 10]);
    expect(Array.from(anchorBags(a, gt, 3))).toEqual([2, 1, 3]);
    expect(() => anchorBags(a, gt, 5)).toThrow(/needs 5 anchors but the image has only 4/);
    expect(anchorBags(a, new Float32Array(0), 5)).toHaveLength(0);
  });

  it('box probability: saturated linear IoU of the predicted boxes, max per class', () => {
    const m = anchors.length / 4;
    const c = fixture.numClasses;
    // The predicted boxes of the fixture, decoded in float64 here from its deltas.
    fixtureTargets.forEach((t, i) => {
      const pred = new Float32Array(m * 4);
      for (let j = 0; j < m; j++) {
        const [x1, y1, x2, y2] = Array.from(anchors.subarray(4 * j, 4 * j + 4));
        const d = fixture.reg.slice((i * m + j) * 4, (i * m + j) * 4 + 4);
        const [pw, ph] = [x2! - x1!, y2! - y1!];
        const [cx, cy] = [x1! + pw / 2 + pw * d[0]! * 0.1, y1! + ph / 2 + ph * d[1]! * 0.1];
        const [w, h] = [pw * Math.exp(d[2]! * 0.2), ph * Math.exp(d[3]! * 0.2)];
        pred.set([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 4 * j);
      }
      const ours = boxProbability(pred, t.boxes, t.labels, c, 0.6);
      let worst = 0;
      let nonzero = 0;
      ours.forEach((v, k) => {
        worst = Math.max(worst, Math.abs(v - fixture.boxProb[i * m * c + k]!));
        if (v > 0) nonzero++;
      });
      expect(worst).toBeLessThan(1e-4);
      // every object's best predicted box has probability 1 whenever it beats the threshold
      expect(nonzero).toBeGreaterThan(0);
    });
  });

  it('box probability on a hand-made case', () => {
    // Object of class 1 at [0, 0, 10, 10]; predictions with IoU 1, 0.8, 0.5 (below t1 = .6).
    const pred = new Float32Array([0, 0, 10, 10, 0, 0, 10, 8, 0, 0, 10, 5]);
    const gt = new Float32Array([0, 0, 10, 10]);
    const p = boxProbability(pred, gt, new Int32Array([1]), 2, 0.6);
    const iou = boxIoUArray(gt, pred);
    expect(iou[1]).toBeCloseTo(0.8, 6);
    expect(Array.from(p)).toEqual([0, 1, 0, Math.fround((0.8 - 0.6) / 0.4), 0, 0].map((v) => expect.closeTo(v, 6)));
    expect(Array.from(boxProbability(pred, new Float32Array(0), new Int32Array(0), 2, 0.6))).toEqual([0, 0, 0, 0, 0, 0]);
  });
});
