import * as tf from '@tensorflow/tfjs-core';
import type { SizeHW } from '../boxes/check-options.js';
import type { PriorGenerator } from './prior-generator.js';

/** Priors of all levels as tensors, plus the bookkeeping adapters need to split per level. */
export interface PriorTensors {
  /** One tensor per level: [H_l * W_l * A_l, priorDim]. */
  readonly levels: readonly tf.Tensor2D[];
  /** All levels concatenated in level order: [sum_l N_l, priorDim]. */
  readonly all: tf.Tensor2D;
  /** Number of priors per level (N_l). */
  readonly numPerLevel: readonly number[];
  /** The same priors as plain arrays (per level), for CPU-side assigners. */
  readonly arrays: readonly Float32Array[];
}

/**
 * Concatenates per-level prior arrays into tensors. The caller owns the returned tensors
 * (dispose `levels` and `all`), unlike `PriorCache.get`.
 */
export function priorsToTensors(arrays: readonly Float32Array[], priorDim: number): PriorTensors {
  const numPerLevel = arrays.map((a) => a.length / priorDim);
  const levels = arrays.map((a, l) => tf.tensor2d(a, [numPerLevel[l]!, priorDim], 'float32'));
  const total = numPerLevel.reduce((s, n) => s + n, 0);
  const flat = new Float32Array(total * priorDim);
  let offset = 0;
  for (const a of arrays) {
    flat.set(a, offset);
    offset += a.length;
  }
  const all = tf.tensor2d(flat, [total, priorDim], 'float32');
  return { levels, all, numPerLevel, arrays };
}

/**
 * Memoises a generator's priors by feature sizes. Adapters call `get` every step; only a
 * new input size builds new tensors. The cache owns every tensor it returns: do not
 * dispose them, call `dispose()` when the detector is dropped. Tensors are created with
 * `tf.keep`, so calling `get` inside `tf.tidy` is safe.
 */
export class PriorCache {
  private readonly entries = new Map<string, PriorTensors>();

  constructor(
    readonly generator: PriorGenerator,
    /** Entries kept before the oldest is evicted (multi-scale training sees a few sizes). */
    readonly maxEntries = 8,
  ) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new Error(`PriorCache: maxEntries must be an integer >= 1, got ${maxEntries}`);
    }
  }

  get(featureSizes: readonly SizeHW[]): PriorTensors {
    const key = featureSizes.map(([h, w]) => `${h}x${w}`).join(',');
    const hit = this.entries.get(key);
    if (hit) return hit;
    const arrays = this.generator.gridPriors(featureSizes);
    const built = priorsToTensors(arrays, this.generator.priorDim);
    built.levels.forEach((t) => tf.keep(t));
    tf.keep(built.all);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      disposePriors(this.entries.get(oldest)!);
      this.entries.delete(oldest);
    }
    this.entries.set(key, built);
    return built;
  }

  /** Number of cached feature-size combinations. */
  get size(): number {
    return this.entries.size;
  }

  dispose(): void {
    for (const entry of this.entries.values()) disposePriors(entry);
    this.entries.clear();
  }
}

function disposePriors(p: PriorTensors): void {
  p.levels.forEach((t) => t.dispose());
  p.all.dispose();
}
