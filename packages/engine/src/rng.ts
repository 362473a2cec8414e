/**
 * Seeded randomness for everything that must replay exactly (data order, augmentation, weight
 * init): xoroshiro128+ from pure-rand (a small, well-tested PRNG library) with the distributions
 * the trainer and data pipeline need. One Rng is a mutable stream; `fork()` gives an independent
 * stream (a 2^64-step jump), so adding draws in one consumer never shifts another.
 */
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

type Generator = ReturnType<typeof xoroshiro128plus>;

export interface Rng {
  /** The seed this stream (or the stream it was forked from) was created with. */
  readonly seed: number;
  /** Uniform float in [low, high); default [0, 1). */
  uniform(low?: number, high?: number): number;
  /** Normal sample (Box-Muller); default mean 0, std 1. */
  normal(mean?: number, std?: number): number;
  /** Uniform integer in [low, high) (high exclusive, like numpy's integers). */
  int(low: number, high: number): number;
  /** Fisher-Yates shuffle in place; returns the same array. */
  shuffle<T>(items: T[]): T[];
  /** A random permutation of 0..n-1. */
  permutation(n: number): number[];
  /** An integer seed for tfjs random ops/initialisers (`tf.randomNormal(shape, 0, 1, 'float32', rng.tfSeed())`). */
  tfSeed(): number;
  /** An independent stream; the parent advances by a fixed jump, so forks are reproducible. */
  fork(): Rng;
}

function checkInteger(name: string, value: number): void {
  if (!Number.isSafeInteger(value)) throw new Error(`createRng: ${name} must be a safe integer, got ${value}`);
}

class XoroshiroRng implements Rng {
  private spareNormal: number | undefined;

  constructor(
    readonly seed: number,
    private readonly generator: Generator,
  ) {}

  uniform(low = 0, high = 1): number {
    if (!(high > low)) throw new Error(`rng.uniform: high (${high}) must be greater than low (${low})`);
    return low + (high - low) * uniformFloat64(this.generator);
  }

  normal(mean = 0, std = 1): number {
    if (!(std >= 0)) throw new Error(`rng.normal: std must be >= 0, got ${std}`);
    if (this.spareNormal !== undefined) {
      const z = this.spareNormal;
      this.spareNormal = undefined;
      return mean + std * z;
    }
    // 1 - u lies in (0, 1], so the log is finite.
    const radius = Math.sqrt(-2 * Math.log(1 - uniformFloat64(this.generator)));
    const angle = 2 * Math.PI * uniformFloat64(this.generator);
    this.spareNormal = radius * Math.sin(angle);
    return mean + std * radius * Math.cos(angle);
  }

  int(low: number, high: number): number {
    checkInteger('rng.int low', low);
    checkInteger('rng.int high', high);
    if (high <= low) throw new Error(`rng.int: high (${high}) must be greater than low (${low})`);
    return uniformInt(this.generator, low, high - 1);
  }

  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = uniformInt(this.generator, 0, i);
      const tmp = items[i]!;
      items[i] = items[j]!;
      items[j] = tmp;
    }
    return items;
  }

  permutation(n: number): number[] {
    checkInteger('rng.permutation n', n);
    if (n < 0) throw new Error(`rng.permutation: n must be >= 0, got ${n}`);
    return this.shuffle(Array.from({ length: n }, (_, i) => i));
  }

  tfSeed(): number {
    // tfjs seeds its alea PRNG from the number's string form: any 31-bit integer works.
    return uniformInt(this.generator, 0, 0x7fffffff);
  }

  fork(): Rng {
    const child = this.generator.clone();
    this.generator.jump();
    // The child keeps the pre-jump position, the parent moves 2^64 steps ahead: disjoint streams.
    return new XoroshiroRng(this.seed, child);
  }
}

/** A seeded random stream; the same seed gives the same sequence on every platform. */
export function createRng(seed: number): Rng {
  checkInteger('seed', seed);
  return new XoroshiroRng(seed, xoroshiro128plus(seed));
}
