import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createPointGenerator, featureSizesFor } from '@hpf/dense';
import { FCOS_DEFAULTS, fcosTargets, type FcosAssignerOptions } from '../src/index.js';

interface Fixture {
  imageSize: number;
  numPerLevel: number[];
  points: number[];
  cases: Array<{ gtBoxes: number[]; gtLabels: number[]; matched: number[]; positiveDistances: number[]; positiveCenterness: number[] }>;
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/fcos_targets.json', import.meta.url), 'utf8')) as Fixture;
const none = new Float32Array(0);
const OPTIONS: FcosAssignerOptions = {
  numClasses: 5,
  strides: FCOS_DEFAULTS.strides,
  regressRanges: FCOS_DEFAULTS.regressRanges,
  centerSampling: true,
  centerSamplingRadius: 1.5,
};

describe('FCOS targets vs torchvision (FCOS.compute_loss matching, BoxLinearCoder(normalize_by_size=True))', () => {
  const generator = createPointGenerator({ strides: FCOS_DEFAULTS.strides });
  const levels = generator.gridPriors(featureSizesFor([fixture.imageSize, fixture.imageSize], FCOS_DEFAULTS.strides));
  const points = Float32Array.from(levels.flatMap((l) => Array.from(l)));
  const numPerLevel = levels.map((l) => l.length / 2);

  it("the points equal the generator script's", () => {
    expect(numPerLevel).toEqual(fixture.numPerLevel);
    expect(Array.from(points)).toEqual(fixture.points);
  });

  fixture.cases.forEach((c, k) => {
    it(`case ${k} (${c.gtLabels.length} gts): matched gt, distances / stride and centerness per point`, () => {
      const t = fcosTargets(points, numPerLevel, { boxes: Float32Array.from(c.gtBoxes), labels: Int32Array.from(c.gtLabels), ignoreBoxes: none }, OPTIONS);
      expect(Array.from(t.gtIndex)).toEqual(c.matched);
      t.labels.forEach((label, i) => expect(label).toBe(c.matched[i]! >= 0 ? c.gtLabels[c.matched[i]!] : 5));
      const positives = c.matched.flatMap((m, i) => (m >= 0 ? [i] : []));
      expect(t.numPositive).toBe(positives.length);
      positives.forEach((p, j) => {
        for (let d = 0; d < 4; d++) expect(t.distances[4 * p + d]).toBeCloseTo(c.positiveDistances[4 * j + d]!, 4);
        expect(t.centerness[p]).toBeCloseTo(c.positiveCenterness[j]!, 5);
      });
    });
  });
});

describe('FCOS targets, hand-made cases', () => {
  // One level of stride 8 with points (4, 12, 20, 28)^2, index 4 * row + col.
  // A = [0, 0, 30, 30] (centre 15, 15): with centre sampling only points within 1.5 * 8 = 12 of the
  // centre in x and y, i.e. coordinates 4, 12, 20 (28 is 13 away). B = [10, 10, 22, 22] (area 144 < 900)
  // takes the four points strictly inside it: (12, 12), (20, 12), (12, 20), (20, 20).
  const points = Float32Array.from([4, 12, 20, 28].flatMap((y) => [4, 12, 20, 28].flatMap((x) => [x, y])));
  const one = { ...OPTIONS, strides: [8], regressRanges: [[-1, 64]] as Array<[number, number]> };
  const target = { boxes: Float32Array.from([0, 0, 30, 30, 10, 10, 22, 22]), labels: Int32Array.from([1, 3]), ignoreBoxes: none };

  it('centre sampling, smallest area wins, distances / stride and centerness', () => {
    const t = fcosTargets(points, [16], target, one);
    // rows y = 4, 12, 20, 28; columns x = 4, 12, 20, 28
    expect(Array.from(t.gtIndex)).toEqual([0, 0, 0, -1, 0, 1, 1, -1, 0, 1, 1, -1, -1, -1, -1, -1]);
    expect(Array.from(t.labels.subarray(4, 8))).toEqual([1, 3, 3, 5]);
    // point (12, 12) in B: l = t = 2, r = b = 10 -> distances / 8 and centerness sqrt(.2 * .2)
    expect(Array.from(t.distances.subarray(20, 24))).toEqual([0.25, 0.25, 1.25, 1.25]);
    expect(t.centerness[5]).toBeCloseTo(0.2, 6);
    // point (4, 4) in A: l = t = 4, r = b = 26 -> centerness 4 / 26
    expect(t.centerness[0]).toBeCloseTo(4 / 26, 6);
  });

  it('without centre sampling every point inside A is positive; a range excludes far-reaching points', () => {
    const t = fcosTargets(points, [16], target, { ...one, centerSampling: false });
    expect(Array.from(t.gtIndex)).toEqual([0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0]);
    // range (-1, 20): A's points reach at least 15 ... (4, 4) reaches 26 -> out; B's reach 10 -> in.
    const ranged = fcosTargets(points, [16], target, { ...one, centerSampling: false, regressRanges: [[-1, 20]] });
    const reach = (i: number) => {
      const [x, y] = [points[2 * i]!, points[2 * i + 1]!];
      return Math.max(x, y, 30 - x, 30 - y);
    };
    Array.from(ranged.gtIndex).forEach((g, i) => expect(g).toBe(t.gtIndex[i] === 1 ? 1 : reach(i) < 20 ? 0 : -1));
  });

  it('crowd boxes ignore background points only; an image without boxes is all background', () => {
    const t = fcosTargets(points, [16], { ...target, ignoreBoxes: Float32Array.from([24, 0, 40, 40]) }, one);
    expect(Array.from(t.labels.filter((l) => l === -1))).toHaveLength(4); // column x = 28
    expect(t.labels[3]).toBe(-1);
    const empty = fcosTargets(points, [16], { boxes: none, labels: new Int32Array(0), ignoreBoxes: none }, one);
    expect(Array.from(empty.labels)).toEqual(new Array(16).fill(5));
  });
});
