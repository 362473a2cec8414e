import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { detectionsToArray, postprocessBatch, postprocessImage, selectDetections, topPairs, type Detection } from '../src/index.js';
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
});
