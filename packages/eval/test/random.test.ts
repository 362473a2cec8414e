/**
 * Randomized datasets checked against test/reference.ts, an independent float64 implementation.
 * Boxes sit on a coarse integer grid and scores on a few levels, so IoU ties, IoU exactly at a
 * threshold, score ties within and across images, crowds, area-field/box mismatches and the
 * maxDets cut all occur. Both must agree on every precision and recall entry, bit for bit.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { CocoAnnotation, CocoDataset, CocoDetection } from '../src/index.js';
import { evaluateCoco } from '../src/index.js';
import { referenceEvaluate } from './reference.js';

const fixture = JSON.parse(readFileSync(new URL('./fixtures/numpy_params.json', import.meta.url), 'utf8')) as {
  iouThrs: number[];
  recThrs: number[];
};

/** mulberry32: a tiny seeded generator, enough for test data. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Config {
  seed: number;
  images: number;
  categories: number;
  maxGt: number;
  maxDt: number;
  scoreLevels: number;
}

function randomCase(c: Config): { data: CocoDataset; dets: CocoDetection[] } {
  const r = rng(c.seed);
  const int = (n: number) => Math.floor(r() * n);
  const images = Array.from({ length: c.images }, (_, n) => ({ id: 3 * n + 1 + int(3) }));
  // Category ids unsorted in the input and not contiguous.
  const categories = Array.from({ length: c.categories }, (_, n) => ({ id: (c.categories - n) * 7 }));
  // Sizes spanning small/medium/large, on a grid of 4 px.
  const box = (): [number, number, number, number] => {
    const s = [8, 16, 28, 32, 40, 64, 96, 100, 160][int(9)]!;
    return [4 * int(30), 4 * int(30), s + 4 * int(3), s + 4 * int(3)];
  };
  const annotations: CocoAnnotation[] = [];
  let annId = 1;
  for (const im of images) {
    for (let g = int(c.maxGt + 1); g > 0; g--) {
      const bbox = box();
      const crowd = r() < 0.1 ? 1 : 0;
      // Mostly the box area; sometimes a "mask" area that moves it across a range boundary.
      const area = r() < 0.2 ? bbox[2] * bbox[3] * (0.4 + r()) : bbox[2] * bbox[3];
      annotations.push({ id: annId++, image_id: im.id, category_id: categories[int(c.categories)]!.id, bbox, area, iscrowd: crowd });
    }
  }
  const dets: CocoDetection[] = [];
  for (const im of images) {
    for (let d = int(c.maxDt + 1); d > 0; d--) {
      const own = annotations.filter((a) => a.image_id === im.id);
      let bbox = box();
      let categoryId = categories[int(c.categories)]!.id;
      if (own.length > 0 && r() < 0.6) {
        // A jittered copy of a gt box: near-matches at every IoU level.
        const a = own[int(own.length)]!;
        const [x, y, w, h] = a.bbox as [number, number, number, number];
        bbox = [x + 2 * (int(5) - 2), y + 2 * (int(5) - 2), Math.max(0, w + 2 * (int(5) - 2)), Math.max(0, h + 2 * (int(5) - 2))];
        categoryId = r() < 0.9 ? a.category_id : categoryId;
      }
      dets.push({ image_id: im.id, category_id: categoryId, bbox, score: (1 + int(c.scoreLevels)) / c.scoreLevels });
    }
  }
  // Shuffle so input order is not grouped by image.
  for (let n = dets.length - 1; n > 0; n--) {
    const m = int(n + 1);
    [dets[n], dets[m]] = [dets[m]!, dets[n]!];
  }
  return { data: { images, categories, annotations }, dets };
}

const CONFIGS: Config[] = [
  { seed: 1, images: 12, categories: 3, maxGt: 6, maxDt: 12, scoreLevels: 5 },
  { seed: 2, images: 20, categories: 2, maxGt: 10, maxDt: 25, scoreLevels: 3 },
  { seed: 3, images: 8, categories: 4, maxGt: 4, maxDt: 6, scoreLevels: 100 },
  { seed: 4, images: 6, categories: 1, maxGt: 15, maxDt: 130, scoreLevels: 10 },
  { seed: 5, images: 30, categories: 5, maxGt: 3, maxDt: 4, scoreLevels: 2 },
  { seed: 6, images: 15, categories: 3, maxGt: 8, maxDt: 40, scoreLevels: 1000 },
];

describe('randomized sets agree with the independent reference implementation', () => {
  for (const c of CONFIGS) {
    it(`seed ${c.seed}: ${c.images} images, ${c.categories} classes, <= ${c.maxDt} detections per image`, () => {
      const { data, dets } = randomCase(c);
      const ours = evaluateCoco(data, dets);
      const ref = referenceEvaluate(data, dets, [1, 10, 100], fixture.iouThrs, fixture.recThrs);
      expect(Array.from(ours.precision)).toEqual(ref.precision.flat(4));
      expect(Array.from(ours.recall)).toEqual(ref.recall.flat(3));
      const stats = Object.values(ours.stats);
      ref.stats.forEach((v, n) => expect(stats[n]).toBeCloseTo(v, 12));
      // The case must exercise something: some defined and some undefined entries.
      expect(stats.some((v) => v > 0)).toBe(true);
    });
  }

  it('custom maxDets agree too', () => {
    const c = CONFIGS[3]!;
    const { data, dets } = randomCase(c);
    const ours = evaluateCoco(data, dets, { maxDets: [2, 7, 50] });
    const ref = referenceEvaluate(data, dets, [2, 7, 50], fixture.iouThrs, fixture.recThrs);
    expect(Array.from(ours.precision)).toEqual(ref.precision.flat(4));
    expect(Array.from(ours.recall)).toEqual(ref.recall.flat(3));
  });

  it('per-category stats average to the overall ones when every class has ground truth', () => {
    const { data, dets } = randomCase(CONFIGS[1]!);
    const ours = evaluateCoco(data, dets);
    const mean = ours.perCategory.reduce((s, c) => s + c.stats.AR100, 0) / ours.perCategory.length;
    expect(ours.perCategory.every((c) => c.stats.AR100 > -1)).toBe(true);
    expect(ours.stats.AR100).toBeCloseTo(mean, 12);
  });
});
