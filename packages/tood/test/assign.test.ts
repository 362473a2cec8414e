import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { atssBoxTargets } from '@hpf/dense';
import { taskAlignedTargets } from '../src/index.js';

interface Fixture {
  numClasses: number;
  anchors: number[];
  gtBoxes: number[];
  gtLabels: number[];
  scores: number[];
  predBoxes: number[];
  gtIndex: number[];
  alignTargets: number[];
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/task_aligned.json', import.meta.url), 'utf8')) as Fixture;
const OPTIONS = { numClasses: 3, topk: 13, alpha: 1, beta: 6 };

describe('taskAlignedTargets vs the torch reference (test/fixtures/gen_task_aligned.py)', () => {
  const target = { boxes: Float32Array.from(fixture.gtBoxes), labels: Int32Array.from(fixture.gtLabels), ignoreBoxes: new Float32Array(0) };

  it('assignment, labels, box targets and normalised alignment targets', () => {
    const out = taskAlignedTargets(fixture.scores, Float32Array.from(fixture.predBoxes), Float32Array.from(fixture.anchors), target, OPTIONS);
    expect(Array.from(out.gtIndex)).toEqual(fixture.gtIndex);
    expect(out.numPositive).toBe(fixture.gtIndex.filter((g) => g >= 0).length);
    out.gtIndex.forEach((g, i) => {
      expect(out.labels[i]).toBe(g >= 0 ? fixture.gtLabels[g] : 3);
      if (g >= 0) expect(Array.from(out.boxTargets.subarray(4 * i, 4 * i + 4))).toEqual(fixture.gtBoxes.slice(4 * g, 4 * g + 4));
      expect(out.alignTargets[i]).toBeCloseTo(fixture.alignTargets[i]!, 5);
    });
  });

  it("each gt's targets lie in (0, 1]; anchors centred in a crowd box are ignored unless positive; no gt means all background", () => {
    for (let g = 0; g < 3; g++) {
      const mine = fixture.alignTargets.filter((_, i) => fixture.gtIndex[i] === g);
      expect(Math.max(...mine)).toBeGreaterThan(0);
      expect(Math.max(...mine)).toBeLessThanOrEqual(1);
    }
    const crowd = taskAlignedTargets(fixture.scores, Float32Array.from(fixture.predBoxes), Float32Array.from(fixture.anchors), { ...target, ignoreBoxes: new Float32Array([-1, -1, 65, 65]) }, OPTIONS);
    crowd.labels.forEach((l, i) => expect(l).toBe(fixture.gtIndex[i]! >= 0 ? fixture.gtLabels[fixture.gtIndex[i]!] : -1));
    const empty = taskAlignedTargets(fixture.scores, Float32Array.from(fixture.predBoxes), Float32Array.from(fixture.anchors), { boxes: new Float32Array(0), labels: new Int32Array(0), ignoreBoxes: new Float32Array(0) }, OPTIONS);
    expect(empty.numPositive).toBe(0);
    expect(Array.from(new Set(empty.labels))).toEqual([3]);
  });

  it('a hand-made case: the metric ranks by s * u^6, and topk limits the candidates', () => {
    // Two anchors centred inside the gt [0, 0, 20, 20]; anchor 0 predicts the gt exactly with score
    // 0.2 (t = 0.2), anchor 1 a box of IoU 0.5 with score 0.9 (t = 0.9 / 64 = 0.014).
    const anchors = new Float32Array([5, 5, 15, 15, 6, 6, 14, 14]);
    const pred = new Float32Array([0, 0, 20, 20, 0, 0, 20, 10]);
    const scores = [0.2, 0.9];
    const t = { boxes: new Float32Array([0, 0, 20, 20]), labels: new Int32Array([0]), ignoreBoxes: new Float32Array(0) };
    const both = taskAlignedTargets(scores, pred, anchors, t, { ...OPTIONS, numClasses: 1 });
    expect(Array.from(both.gtIndex)).toEqual([0, 0]);
    // normalised: t / max t * max IoU = [1, (0.9 / 64) / 0.2] * 1
    expect(both.alignTargets[0]).toBeCloseTo(1, 6);
    expect(both.alignTargets[1]).toBeCloseTo(0.9 / 64 / 0.2, 6);
    const one = taskAlignedTargets(scores, pred, anchors, t, { ...OPTIONS, numClasses: 1, topk: 1 });
    expect(Array.from(one.gtIndex)).toEqual([0, -1]);
  });
});

describe('the ATSS warm-up targets (@hpf/dense atssBoxTargets)', () => {
  it('ATSS positives with the centerness of the anchor centre as the box weight', () => {
    // The tiny case of @hpf/atss: stride 8 (4 x 4) and 16 (2 x 2) anchors of side 2 * stride; gt
    // [2, 2, 18, 18] makes anchor 5 ([0, 0, 16, 16], centre (8, 8)) the only positive (topk 4).
    const anchors: number[] = [];
    for (const [stride, size] of [[8, 4], [16, 2]] as const)
      for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) anchors.push(x * stride - stride, y * stride - stride, x * stride + stride, y * stride + stride);
    const out = atssBoxTargets(Float32Array.from(anchors), [16, 4], { boxes: new Float32Array([2, 2, 18, 18]), labels: new Int32Array([1]), ignoreBoxes: new Float32Array(0) }, { numClasses: 2, topk: 4 });
    const positives = Array.from(out.labels).flatMap((l, i) => (l === 1 ? [i] : []));
    expect(positives).toEqual([5]);
    // centre (8, 8) in [2, 2, 18, 18]: l = t = 6, r = b = 10 -> sqrt(0.6 * 0.6) = 0.6
    expect(out.centerness[5]).toBeCloseTo(0.6, 6);
  });
});
