/**
 * Seeded randomness for weight initialisation.
 *
 * Initialisation only needs a stream of uniform floats in [0, 1), so the package takes any
 * `() => number` (e.g. one built on pure-rand by @hpf/engine) and ships a tiny default generator
 * so that `@hpf/nn` stays free of runtime dependencies beyond tfjs-core.
 */

/** A source of uniform floats in [0, 1). Must be deterministic for reproducible weights. */
export type Rng = () => number;

/**
 * An object with a `uniform()` method returning [0, 1), e.g. @hpf/engine's seeded Rng. Accepted
 * wherever an rng is, so the engine's streams drive initialisation without nn depending on it.
 */
export interface UniformSource {
  uniform(): number;
}

/** An rng function or an object with `uniform()`. */
export type RngLike = Rng | UniformSource;

/** Either a seed (unsigned 32-bit integer) or an rng. */
export type SeedOrRng = number | RngLike;

/** The rng function of an RngLike (throws naming `owner` for anything else). */
export function asRng(rng: RngLike, owner = 'rng'): Rng {
  if (typeof rng === 'function') return rng;
  if (rng !== null && typeof rng === 'object' && typeof rng.uniform === 'function') return () => rng.uniform();
  throw new Error(`${owner}: option 'rng' must be a function returning [0, 1) or an object with uniform(), got ${String(rng)}`);
}

/**
 * mulberry32: a 32-bit state generator with full period 2^32, good enough for weight init and
 * reproducible across JS engines because it only uses 32-bit integer arithmetic.
 */
export function createRng(seed: number): Rng {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new Error(`seed must be an integer in [0, 2^32), got ${seed}`);
  }
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Accepts a seed or an rng; undefined means seed 0. */
export function toRng(seedOrRng: SeedOrRng | undefined): Rng {
  if (seedOrRng === undefined) return createRng(0);
  if (typeof seedOrRng === 'number') return createRng(seedOrRng);
  return asRng(seedOrRng);
}

/** Fills `out` with N(mean, std^2) samples (Box-Muller, both outputs used). */
export function fillNormal(out: Float32Array, rng: Rng, mean = 0, std = 1): Float32Array {
  for (let i = 0; i < out.length; i += 2) {
    // 1 - u keeps the log argument in (0, 1].
    const u1 = 1 - rng();
    const u2 = rng();
    const r = Math.sqrt(-2 * Math.log(u1));
    out[i] = mean + std * r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < out.length) out[i + 1] = mean + std * r * Math.sin(2 * Math.PI * u2);
  }
  return out;
}

/** Fills `out` with U(low, high) samples. */
export function fillUniform(out: Float32Array, rng: Rng, low: number, high: number): Float32Array {
  const span = high - low;
  for (let i = 0; i < out.length; i++) out[i] = low + span * rng();
  return out;
}
