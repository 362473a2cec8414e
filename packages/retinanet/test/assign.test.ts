import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { createAnchorGenerator, DeltaXYWHCoder, featureSizesFor } from '@hpf/dense';
import { RETINANET_DEFAULTS, retinaTargets, type RetinaAssignerOptions } from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

interface Fixture {
  imageSize: number;
  anchors: number[];
  cases: Array<{ gtBoxes: number[]; gtLabels: number[]; matched: number[]; positiveDeltas: number[] }>;
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/retinanet_matcher.json', import.meta.url), 'utf8')) as Fixture;

const OPTIONS: RetinaAssignerOptions = { numClasses: 4, posIouThr: 0.5, negIouThr: 0.4, lowQualityStyle: 'torchvision', ignoreIofThr: 0.5 };
const none = new Float32Array(0);

describe('RetinaNet assignment vs torchvision (Matcher(0.5, 0.4, allow_low_quality_matches=True), BoxCoder(1, 1, 1, 1))', () => {
  const generator = createAnchorGenerator({
    strides: RETINANET_DEFAULTS.strides,
    ratios: RETINANET_DEFAULTS.ratios,
    octaveBaseScale: RETINANET_DEFAULTS.octaveBaseScale,
    scalesPerOctave: RETINANET_DEFAULTS.scalesPerOctave,
  });
  const levels = generator.gridPriors(featureSizesFor([fixture.imageSize, fixture.imageSize], RETINANET_DEFAULTS.strides));
  const anchors = new Float32Array(levels.reduce((s, l) => s + l.length, 0));
  let offset = 0;
  for (const l of levels) {
    anchors.set(l, offset);
    offset += l.length;
  }

  it('the published anchors (9 per location) equal the generator script\'s', () => {
    expect(anchors.length).toBe(fixture.anchors.length);
    let worst = 0;
    fixture.anchors.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - anchors[i]!))));
    expect(worst).toBeLessThan(1e-4);
  });

  fixture.cases.forEach((c, k) => {
    it(`case ${k} (${c.gtLabels.length} gts): matched gt per anchor and regression targets`, () => {
      const target = { boxes: Float32Array.from(c.gtBoxes), labels: Int32Array.from(c.gtLabels), ignoreBoxes: none };
      const t = retinaTargets(anchors, target, OPTIONS);
      // torchvision's codes: >= 0 matched gt, -1 below the low threshold, -2 between: the same as ours.
      expect(Array.from(t.gtIndex)).toEqual(c.matched);
      t.labels.forEach((label, i) => expect(label).toBe(c.matched[i]! >= 0 ? c.gtLabels[c.matched[i]!] : c.matched[i] === -1 ? 4 : -1));
      const positives = c.matched.flatMap((m, i) => (m >= 0 ? [i] : []));
      expect(t.numPositive).toBe(positives.length);
      const pick = (values: Float32Array) => tf.tensor2d(positives.flatMap((p) => Array.from(values.subarray(4 * p, 4 * p + 4))), [positives.length, 4]);
      const deltas = tf.tidy(() => new DeltaXYWHCoder().encode(pick(anchors), pick(t.boxTargets)).dataSync());
      let worst = 0;
      c.positiveDeltas.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - deltas[i]!))));
      expect(worst).toBeLessThan(1e-4);
    });
  });
});

describe('RetinaNet assignment, hand-made cases', () => {
  // A = [0,0,10,10]: IoU 100/120 = .833 with g0 = [0,0,10,12] (positive), 25/475 = .053 with g1 = [5,5,25,25].
  // E = [3,0,13,10]: IoU 70/150 = .467 with g0 (between the thresholds), 40/460 = .087 with g1, which
  // makes E g1's best anchor: a low-quality match. B = [40,40,50,50] overlaps nothing: background.
  const anchors = Float32Array.from([0, 0, 10, 10, 3, 0, 13, 10, 40, 40, 50, 50]);
  const target = { boxes: Float32Array.from([0, 0, 10, 12, 5, 5, 25, 25]), labels: Int32Array.from([2, 1]), ignoreBoxes: none };

  it("low-quality matches: 'mmdet' gives E to g1 (whose best anchor it is), 'torchvision' to E's own best gt g0", () => {
    const mm = retinaTargets(anchors, target, { ...OPTIONS, lowQualityStyle: 'mmdet' });
    expect(Array.from(mm.gtIndex)).toEqual([0, 1, -1]);
    expect(Array.from(mm.labels)).toEqual([2, 1, 4]);
    expect(Array.from(mm.boxTargets.subarray(4, 8))).toEqual([5, 5, 25, 25]);
    const tv = retinaTargets(anchors, target, OPTIONS);
    expect(Array.from(tv.gtIndex)).toEqual([0, 0, -1]);
    expect(Array.from(tv.labels)).toEqual([2, 2, 4]);
  });

  it('between the thresholds is ignored; anchors mostly inside a crowd box are ignored', () => {
    const oneGt = { boxes: Float32Array.from([0, 0, 10, 12]), labels: Int32Array.from([3]), ignoreBoxes: Float32Array.from([38, 38, 48, 48]) };
    const t = retinaTargets(anchors, oneGt, { ...OPTIONS, lowQualityStyle: 'mmdet' });
    // E: .467 with the only gt -> ignored; B: 64/100 of its area inside the crowd box (> .5) -> ignored.
    expect(Array.from(t.gtIndex)).toEqual([0, -2, -2]);
    expect(Array.from(t.labels)).toEqual([3, -1, -1]);
  });

  it('an image without boxes is all background', () => {
    const t = retinaTargets(anchors, { boxes: none, labels: new Int32Array(0), ignoreBoxes: none }, OPTIONS);
    expect(Array.from(t.labels)).toEqual([4, 4, 4]);
    expect(t.numPositive).toBe(0);
  });
});
