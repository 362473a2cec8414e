import { seededGenerator, uniform01, type RandomGenerator } from '@hpf/data';

/** The few draws the generator needs, over one seeded pure-rand stream. */
export class Random {
  private readonly rng: RandomGenerator;
  constructor(seed: number, stream: number) {
    this.rng = seededGenerator(seed, stream);
  }
  /** Uniform in [lo, hi). */
  uniform(lo = 0, hi = 1): number {
    return lo + (hi - lo) * uniform01(this.rng);
  }
  /** Integer uniform in [lo, hi] (both included). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(uniform01(this.rng) * (hi - lo + 1));
  }
  /**
   * Uniform in [-1, 1) from a single 32-bit draw: for per-pixel grain, where 32 bits are plenty
   * and the two draws of a 53-bit float would double the cost of the hottest loop.
   */
  signed(): number {
    return this.rng.next() / 2147483648;
  }
  chance(p: number): boolean {
    return uniform01(this.rng) < p;
  }
  colour(): [number, number, number] {
    return [this.uniform(0, 255), this.uniform(0, 255), this.uniform(0, 255)];
  }
}
