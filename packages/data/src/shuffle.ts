import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';

export type { RandomGenerator };

/**
 * A generator for stream `stream` of `seed`: xoroshiro128+ seeded with `seed`, jumped `stream`
 * times (each jump skips 2^64 draws), so streams (e.g. epochs) never overlap and stream k does not
 * depend on whether streams 0..k-1 were used.
 */
export function seededGenerator(seed: number, stream = 0): RandomGenerator {
  if (!Number.isInteger(seed)) throw new Error(`seed must be an integer, got ${seed}`);
  if (!Number.isInteger(stream) || stream < 0) throw new Error(`stream must be a non-negative integer, got ${stream}`);
  const rng = xoroshiro128plus(seed);
  for (let i = 0; i < stream; i++) rng.jump();
  return rng;
}

/** Fisher-Yates shuffle of `0..n-1` drawn from `rng` (advances it). */
export function permutation(n: number, rng: RandomGenerator): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = uniformInt(rng, 0, i);
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

/** A uniform float in [0, 1) from `rng` (advances it). */
export function uniform01(rng: RandomGenerator): number {
  return uniformFloat64(rng);
}
