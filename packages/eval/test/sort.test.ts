import { describe, expect, it } from 'vitest';
import { stableSortDescending } from '../src/sort.js';

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

describe('stableSortDescending', () => {
  // Expected order from first principles: by key descending, then by original index ascending.
  for (const [n, levels] of [[0, 3], [1, 3], [15, 4], [16, 2], [17, 5], [100, 7], [1000, 13], [5000, 1000]] as const) {
    it(`${n} keys on ${levels} levels (many ties)`, () => {
      const r = rng(n + levels);
      const key = Float64Array.from({ length: n }, () => Math.floor(r() * levels) / levels);
      const idx = Int32Array.from({ length: n }, (_, i) => i);
      stableSortDescending(key, idx, n, new Int32Array(n));
      const expected = Array.from({ length: n }, (_, i) => i).sort((p, q) => (key[q]! > key[p]! ? 1 : key[q]! < key[p]! ? -1 : p - q));
      expect(Array.from(idx)).toEqual(expected);
    });
  }

  it('treats 0 and -0 as equal and sorts infinities', () => {
    const key = Float64Array.from([0, -0, Infinity, -Infinity, -0, 0]);
    const idx = Int32Array.from([0, 1, 2, 3, 4, 5]);
    stableSortDescending(key, idx, 6, new Int32Array(6));
    expect(Array.from(idx)).toEqual([2, 0, 1, 4, 5, 3]);
  });
});
