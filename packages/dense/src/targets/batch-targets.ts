import { batchByLevel } from '../detector/levels.js';

/** The per-image targets an assigner returns: labels per prior (class, numClasses background, -1 ignored) and other per-prior fields. */
export interface ImageTargets {
  labels: Int32Array;
}

/** The keys of `T` that hold Float32Array fields (boxTargets, centerness, distances ...). */
export type FloatField<T> = { [K in keyof T]: T[K] extends Float32Array ? K : never }[keyof T];

/**
 * One batch's targets in the order the losses flatten the head outputs (`flattenLevels`: level,
 * then image, then prior), and its positives.
 */
export interface BatchTargets<T extends ImageTargets> {
  /** Labels per level over the batch, in (image, prior) order. */
  labelsByLevel: Int32Array[];
  /** Flat indices (into the level-major batch order) of the priors with a foreground label, ascending. */
  positives: number[];
  numPositives: number;
  /** The pyramid level of each positive. */
  positiveLevels: Int32Array;
  /** Rows `width` wide of a per-image field at the positives, in `positives` order. */
  pick(field: FloatField<T>, width: number): Float32Array;
  /** Rows of the priors (per level, `width` values per prior, shared by every image) at the positives. */
  pickPriors(levels: readonly Float32Array[], width: number): Float32Array;
  /** A per-image field per level over the batch (for losses that read every prior, e.g. soft classification targets). */
  byLevel(field: FloatField<T>, width?: number): Float32Array[];
}

/**
 * Assembles the batch's targets from one assignment per image: the labels per level (what the
 * classification losses take), the positives (foreground labels) in the order `flattenLevels`
 * gives the head outputs, and the positives' rows of any target field or prior, so a loss gathers
 * its predictions with `tf.gather(tf.concat(flattenLevels(...)), positives)` and finds the matching
 * targets with `pick`. Plain arrays, no gradient.
 */
export function batchTargets<T extends ImageTargets>(perImage: readonly T[], numPerLevel: readonly number[], numClasses: number): BatchTargets<T> {
  const total = numPerLevel.reduce((s, n) => s + n, 0);
  perImage.forEach((t, i) => {
    if (t.labels.length !== total) throw new Error(`batchTargets: image ${i} has ${t.labels.length} labels, expected ${total} priors`);
  });
  const labelsByLevel = batchByLevel(perImage.map((t) => t.labels), numPerLevel);
  const positives: number[] = [];
  const levels: number[] = [];
  // per positive: its image and its prior's index among one image's priors (all levels)
  const images: number[] = [];
  const priors: number[] = [];
  let flat = 0;
  let levelStart = 0;
  numPerLevel.forEach((n, l) => {
    perImage.forEach((t, i) => {
      for (let j = 0; j < n; j++, flat++) {
        const label = t.labels[levelStart + j]!;
        if (label >= 0 && label < numClasses) {
          positives.push(flat);
          levels.push(l);
          images.push(i);
          priors.push(levelStart + j);
        }
      }
    });
    levelStart += n;
  });
  const numPositives = positives.length;
  const levelStarts = numPerLevel.map((_, l) => numPerLevel.slice(0, l).reduce((s, n) => s + n, 0));
  const pickRowsOf = (rowsOf: (k: number) => Float32Array, rowOf: (k: number) => number, width: number): Float32Array => {
    const out = new Float32Array(numPositives * width);
    for (let k = 0; k < numPositives; k++) {
      const r = rowOf(k);
      out.set(rowsOf(k).subarray(r * width, (r + 1) * width), k * width);
    }
    return out;
  };
  const fieldOf = (field: FloatField<T>, i: number, width: number): Float32Array => {
    const values = perImage[i]![field] as unknown;
    if (!(values instanceof Float32Array) || values.length !== total * width) {
      throw new Error(`batchTargets: field '${String(field)}' of image ${i} must be a Float32Array of ${total} priors x ${width}`);
    }
    return values;
  };
  return {
    labelsByLevel,
    positives,
    numPositives,
    positiveLevels: Int32Array.from(levels),
    pick: (field, width) => pickRowsOf((k) => fieldOf(field, images[k]!, width), (k) => priors[k]!, width),
    pickPriors: (priorLevels, width) => {
      if (priorLevels.length !== numPerLevel.length || priorLevels.some((p, l) => p.length !== numPerLevel[l]! * width)) {
        throw new Error(`batchTargets.pickPriors: expected ${numPerLevel.length} levels of ${numPerLevel.join(', ')} priors x ${width}`);
      }
      return pickRowsOf((k) => priorLevels[levels[k]!]!, (k) => priors[k]! - levelStarts[levels[k]!]!, width);
    },
    byLevel: (field, width = 1) => batchByLevel(perImage.map((_, i) => fieldOf(field, i, width)), numPerLevel, width),
  };
}
