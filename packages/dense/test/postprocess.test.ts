import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { detectionsToArray, indicesByScore, postprocessArrays, postprocessBatch, postprocessImage, selectDetections, topPairs, type Detection } from '../src/index.js';
import { bruteForceNms, randomBoxes, rng, type Box64 } from './fixtures/geometry/reference.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

interface Level64 {
  scores: number[][]; // [N, C]
  boxes: Box64[]; // [N]
}

/** mmdetection's pipeline, transcribed in plain JS: threshold + per-level top-k, pool, class-aware NMS, cap. */
function reference(levels: Level64[], o: { scoreThreshold: number; nmsPre: number; iouThreshold: number; maxPerImage: number }): Detection[] {
  const boxes: Box64[] = [];
  const scores: number[] = [];
  const labels: number[] = [];
  for (const level of levels) {
    const pairs: { s: number; n: number; c: number }[] = [];
    level.scores.forEach((row, n) => row.forEach((s, c) => s > Math.fround(o.scoreThreshold) && pairs.push({ s, n, c })));
    pairs.sort((a, b) => b.s - a.s);
    for (const p of pairs.slice(0, o.nmsPre)) {
      boxes.push(level.boxes[p.n]!);
      scores.push(p.s);
      labels.push(p.c);
    }
  }
  return bruteForceNms(boxes, scores, labels, o.iouThreshold)
    .slice(0, o.maxPerImage)
    .map((i) => ({ box: boxes[i]!, score: scores[i]!, label: labels[i]! }));
}

function randomLevels(seed: number, sizes: number[], classes: number): Level64[] {
  const rand = rng(seed);
  return sizes.map((n) => ({
    boxes: randomBoxes(rand, n, 64, 30),
    scores: Array.from({ length: n }, () => Array.from({ length: classes }, () => Math.fround(rand() ** 3))),
  }));
}

const toTensors = (levels: Level64[]) => levels.map((l) => ({ scores: tf.tensor2d(l.scores), boxes: tf.tensor2d(l.boxes) }));

function expectDetections(got: Detection[], want: Detection[]): void {
  expect(got.map((d) => d.label)).toEqual(want.map((d) => d.label));
  expect(got.map((d) => d.score)).toEqual(want.map((d) => d.score));
  expect(got.map((d) => d.box)).toEqual(want.map((d) => d.box));
}

describe('postprocessImage', () => {
  const levels = randomLevels(1, [96, 48, 12], 4);

  it('equals the reference pipeline with defaults-like settings', async () => {
    const o = { scoreThreshold: 0.05, nmsPre: 1000, iouThreshold: 0.5, maxPerImage: 100 };
    const t = toTensors(levels);
    const got = await postprocessImage(t, o);
    const want = reference(levels, o);
    expect(want.length).toBeGreaterThan(20);
    expectDetections(got, want);
    t.forEach((l) => tf.dispose([l.scores, l.boxes]));
  });

  it('applies nmsPre per level, the strict score threshold and maxPerImage', async () => {
    const t = toTensors(levels);
    for (const o of [
      { scoreThreshold: 0.2, nmsPre: 15, iouThreshold: 0.5, maxPerImage: 100 },
      { scoreThreshold: 0.0, nmsPre: 40, iouThreshold: 0.3, maxPerImage: 7 },
    ]) {
      const got = await postprocessImage(t, o);
      expectDetections(got, reference(levels, o));
      expect(got.every((d) => d.score > o.scoreThreshold)).toBe(true);
    }
    const capped = await postprocessImage(t, { nmsPre: 15, maxPerImage: 7, scoreThreshold: 0.2 });
    expect(capped).toHaveLength(7);
    // nmsPre = -1 keeps every pair above the threshold.
    const all = await postprocessImage(t, { nmsPre: -1, scoreThreshold: 0.3, maxPerImage: 1000 });
    expectDetections(all, reference(levels, { nmsPre: Infinity, scoreThreshold: 0.3, iouThreshold: 0.5, maxPerImage: 1000 }));
    t.forEach((l) => tf.dispose([l.scores, l.boxes]));
  });

  it('returns raw tensors from selectDetections and nothing when no score passes', async () => {
    const t = toTensors(levels);
    const d = await selectDetections(t, { scoreThreshold: 0.5 });
    expect(d.boxes.shape[1]).toBe(4);
    expect(d.labels.dtype).toBe('int32');
    expect(d.scores.shape[0]).toBe(d.boxes.shape[0]);
    const scores = Array.from(await d.scores.data());
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    expectDetections(await detectionsToArray(d), await postprocessImage(t, { scoreThreshold: 0.5 }));
    tf.dispose([d.boxes, d.scores, d.labels]);
    expect(await postprocessImage(t, { scoreThreshold: 2 })).toEqual([]);
    t.forEach((l) => tf.dispose([l.scores, l.boxes]));
  });

  it('keeps tf.memory().numTensors flat across calls', async () => {
    const t = toTensors(levels);
    await postprocessImage(t);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) await postprocessImage(t, { nmsPre: 20 });
    expect(tf.memory().numTensors).toBe(before);
    t.forEach((l) => tf.dispose([l.scores, l.boxes]));
  });

  it('rejects unknown options and mismatched shapes', async () => {
    const t = toTensors(levels);
    await expect(postprocessImage(t, { iouThresh: 0.5 } as never)).rejects.toThrow(/unknown option 'iouThresh'/);
    await expect(postprocessImage(t, { nmsPre: 0 })).rejects.toThrow(/nmsPre/);
    await expect(postprocessImage([{ scores: t[0]!.scores, boxes: t[1]!.boxes }])).rejects.toThrow(/level 0 boxes must have shape \[96, 4\], got \[48, 4\]/);
    t.forEach((l) => tf.dispose([l.scores, l.boxes]));
  });
});

describe('postprocessBatch', () => {
  it('equals postprocessImage per image', async () => {
    const images = [randomLevels(2, [40, 10], 3), randomLevels(3, [40, 10], 3)];
    const batch = [0, 1].map((l) => ({
      scores: tf.tensor3d(images.map((im) => im[l]!.scores)),
      boxes: tf.tensor3d(images.map((im) => im[l]!.boxes)),
    }));
    const before = tf.memory().numTensors;
    const o = { scoreThreshold: 0.1, nmsPre: 30, iouThreshold: 0.45, maxPerImage: 50 };
    const got = await postprocessBatch(batch, o);
    expect(tf.memory().numTensors).toBe(before);
    expect(got).toHaveLength(2);
    got.forEach((dets, b) => expectDetections(dets, reference(images[b]!, o)));
    batch.forEach((l) => tf.dispose([l.scores, l.boxes]));
  });

  it('reads each level once and rejects a batch mismatch naming the level', async () => {
    const images = [randomLevels(4, [20], 2), randomLevels(5, [20], 2)];
    const scores = tf.tensor3d(images.map((im) => im[0]!.scores));
    const boxes = tf.tensor3d(images.map((im) => im[0]!.boxes));
    const reads = { n: 0 };
    const count = <T extends tf.Tensor>(t: T): T => {
      const data = t.data.bind(t);
      (t as { data: unknown }).data = () => {
        reads.n++;
        return data();
      };
      return t;
    };
    await postprocessBatch([{ scores: count(scores), boxes: count(boxes) }], { scoreThreshold: 0.1 });
    expect(reads.n).toBe(2);
    const one = tf.slice(boxes, [0, 0, 0], [1, -1, -1]) as tf.Tensor3D;
    await expect(postprocessBatch([{ scores, boxes: one }])).rejects.toThrow(/postprocessBatch: level 0 boxes must have shape \[2, 20, 4\], got \[1, 20, 4\]/);
    tf.dispose([scores, boxes, one]);
  });
});

describe('postprocessArrays', () => {
  it('asks for the boxes of surviving priors only and equals postprocessBatch', async () => {
    const images = [randomLevels(6, [50, 12], 3), randomLevels(7, [50, 12], 3)];
    const o = { scoreThreshold: 0.2, nmsPre: 10, iouThreshold: 0.5, maxPerImage: 15 };
    const asked: number[] = [];
    const arrays = [0, 1].map((l) => {
      const n = images[0]![l]!.boxes.length;
      return {
        scores: Float32Array.from(images.flatMap((im) => im[l]!.scores.flat())),
        numPriors: n,
        numClasses: 3,
        boxOf: (b: number, p: number, out: Float32Array, at: number) => {
          asked.push(p);
          out.set(images[b]![l]!.boxes[p]!, at);
        },
      };
    });
    const got = postprocessArrays(arrays, 2, o);
    // nmsPre 10 per level and image: at most 2 images x 2 levels x 10 boxes decoded.
    expect(asked.length).toBeLessThanOrEqual(40);
    expect(asked.length).toBeGreaterThan(20);
    got.forEach((dets, b) => expectDetections(dets, reference(images[b]!, o)));
    expect(() => postprocessArrays(arrays, 3, o)).toThrow(/postprocessArrays: level 0 scores have length 300, expected 3 x 50 x 3/);
  });
});

describe('topPairs', () => {
  it('keeps the k highest scores above the threshold, equal scores by lower index', () => {
    const s = Float32Array.from([0.5, 0.9, 0.1, 0.5, 0.7, 0.5, 0.05, 0.5]);
    expect(Array.from(topPairs(s, 0.05, 100))).toEqual([1, 4, 0, 3, 5, 7, 2]);
    expect(Array.from(topPairs(s, 0.05, 4))).toEqual([1, 4, 0, 3]);
    expect(Array.from(topPairs(s, 0.5, 4))).toEqual([1, 4]);
    expect(Array.from(topPairs(s, 0.95, 4))).toEqual([]);
  });

  it('equals a full sort on random scores with many ties', () => {
    const rand = rng(8);
    const s = Float32Array.from({ length: 5000 }, () => Math.round(rand() * 50) / 50);
    const want = Array.from(s.keys()).filter((i) => s[i]! > 0.3).sort((a, b) => s[b]! - s[a]! || a - b).slice(0, 777);
    expect(Array.from(topPairs(s, 0.3, 777))).toEqual(want);
  });

  // Levels larger than 4k go through the 16-bit histogram first; scores of mixed sign, -0 and +0
  // (equal scores, so ordered by index) and long runs of ties land in the cutoff bucket.
  it('equals a full sort on large levels with ties, negative scores and signed zeros', () => {
    const rand = rng(9);
    for (const [n, k, threshold] of [
      [30000, 1000, -1],
      [30000, 1000, 0],
      [30000, 7, -2],
      [9000, 2000, 0.25],
      [4001, 1000, -1],
      [3000, 1, -1],
    ] as const) {
      const s = Float32Array.from({ length: n }, () => (Math.round(rand() * 40) / 40) * (rand() < 0.3 ? -1 : 1));
      for (let i = 0; i < n; i += 97) s[i] = i % 2 === 0 ? -0 : 0;
      s[5] = 1.5;
      s[6] = Number.NaN;
      const want = Array.from(s.keys()).filter((i) => s[i]! > Math.fround(threshold)).sort((a, b) => s[b]! - s[a]! || a - b).slice(0, k);
      expect(want.length).toBeGreaterThan(0);
      expect(Array.from(topPairs(s, threshold, k))).toEqual(want);
    }
    // Zeros of both signs as the best scores: one run of ties, in index order.
    const zeros = Float32Array.from({ length: 6000 }, (_, i) => (i % 5 === 0 ? (i % 2 === 0 ? -0 : 0) : -rand() - 0.01));
    expect(Array.from(topPairs(zeros, -1, 50))).toEqual(Array.from({ length: 50 }, (_, i) => 5 * i));
    expect(Array.from(topPairs(zeros.subarray(0, 100), -1, 5))).toEqual([0, 5, 10, 15, 20]);
  });

  it('handles k of 0, Infinity and a level above the keyed size limit', () => {
    const s = Float32Array.from([0.3, 0.1, 0.3]);
    expect(Array.from(topPairs(s, 0, 0))).toEqual([]);
    expect(Array.from(topPairs(s, 0, Infinity))).toEqual([0, 2, 1]);
    const big = new Float32Array(2 ** 21 + 5);
    big[2 ** 21 + 3] = 0.9;
    big[17] = 0.9;
    big[40] = 0.5;
    expect(Array.from(topPairs(big, 0, 2))).toEqual([17, 2 ** 21 + 3]);
  });
});

describe('indicesByScore', () => {
  it('orders by descending score, lower index first on ties and between -0 and +0, NaN last', () => {
    const s = Float32Array.from([0.5, Number.NaN, -0, 2, 0.5, 0, -3, Number.NaN, 2]);
    expect(Array.from(indicesByScore(s))).toEqual([3, 8, 0, 4, 2, 5, 6, 1, 7]);
  });

  it('equals a comparator sort on 20000 scores with ties', () => {
    const rand = rng(10);
    const s = Float32Array.from({ length: 20000 }, () => Math.round((rand() - 0.3) * 300) / 100);
    const want = Array.from(s.keys()).sort((a, b) => s[b]! - s[a]! || a - b);
    expect(Array.from(indicesByScore(s))).toEqual(want);
  });
});

