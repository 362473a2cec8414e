import * as tf from '@tensorflow/tfjs-core';

/**
 * Head outputs of each level [N, H, W, A * K] -> [N * H * W * A, K], i.e. prior order
 * (image, y, x, anchor): the batch is flattened into the priors so every level stays one tensor.
 * Returns new tensors the caller owns.
 */
export function flattenLevels(levels: readonly tf.Tensor4D[], k: number): tf.Tensor2D[] {
  return levels.map((x, l) => {
    const [n, h, w, c] = x.shape;
    if (x.rank !== 4 || c % k !== 0) {
      throw new Error(`flattenLevels: level ${l} must have shape [N, H, W, A * ${k}], got [${x.shape.join(', ')}]`);
    }
    return tf.reshape(x, [n * h * w * (c / k), k]) as tf.Tensor2D;
  });
}

type TypedArray = Float32Array | Int32Array | Uint8Array;

/**
 * Per-image arrays (all levels concatenated, `width` values per prior) -> per-level arrays over the
 * batch in (image, prior) order, matching `flattenLevels`. Plain arrays, no tensors.
 */
export function batchByLevel<T extends TypedArray>(perImage: readonly T[], numPerLevel: readonly number[], width = 1): T[] {
  const total = numPerLevel.reduce((s, n) => s + n, 0);
  perImage.forEach((a, i) => {
    if (a.length !== total * width) throw new Error(`batchByLevel: image ${i} has ${a.length} values, expected ${total} priors x ${width}`);
  });
  const out: T[] = [];
  let start = 0;
  for (const n of numPerLevel) {
    const Ctor = (perImage[0]?.constructor ?? Float32Array) as new (length: number) => T;
    const level = new Ctor(perImage.length * n * width);
    perImage.forEach((a, i) => level.set(a.subarray(start * width, (start + n) * width), i * n * width));
    out.push(level);
    start += n;
  }
  return out;
}

/** Repeats per-level priors ([n_l * width]) `batch` times: the priors of level l for the flattened batch. */
export function tileLevelPriors(levelPriors: Float32Array, batch: number): Float32Array {
  const out = new Float32Array(levelPriors.length * batch);
  for (let i = 0; i < batch; i++) out.set(levelPriors, i * levelPriors.length);
  return out;
}

/** Concatenates per-level arrays (priors, labels, targets) into one array in level order. */
export function concatLevels<T extends TypedArray>(levels: readonly T[]): T {
  const Ctor = (levels[0]?.constructor ?? Float32Array) as new (length: number) => T;
  const out = new Ctor(levels.reduce((s, a) => s + a.length, 0));
  let offset = 0;
  for (const a of levels) {
    out.set(a, offset);
    offset += a.length;
  }
  return out;
}
