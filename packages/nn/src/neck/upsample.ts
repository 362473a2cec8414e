import * as tf from '@tensorflow/tfjs-core';

/**
 * Nearest-neighbour resize of NHWC `x` to [height, width] with torch's `F.interpolate(size=...,
 * mode='nearest')` rule: source index = floor(dst * in / out).
 *
 * When out is 2*in or 2*in-1 (every FPN top-down step, since stride-2 convs give ceil(in / 2)),
 * that rule equals "repeat each pixel twice, crop", which we build from reshape/concat/slice: their
 * gradients exist on every backend, unlike ResizeNearestNeighborGrad on wasm. Concat of a tensor
 * with itself rather than tf.tile: the same copies, but wasm's Tile is a generic per-element loop
 * (11 ms of a 400 ms RetinaNet quick step for 4 calls) and Concat copies rows.
 * Returns a new tensor owned by the caller.
 */
export function upsampleNearest(x: tf.Tensor4D, height: number, width: number): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const doubles = (out: number, inp: number) => out === 2 * inp || out === 2 * inp - 1;
  if (!doubles(height, h) || !doubles(width, w)) {
    return tf.image.resizeNearestNeighbor(x, [height, width], false, false);
  }
  return tf.tidy(() => {
    const repeat = (t: tf.Tensor4D) => tf.concat([t, t], 2);
    const wide = repeat(tf.reshape(x, [n * h, w, 1, c]));
    const tall = repeat(tf.reshape(wide, [n, h, 1, 2 * w * c]));
    const doubled = tf.reshape(tall, [n, 2 * h, 2 * w, c]) as tf.Tensor4D;
    if (height === 2 * h && width === 2 * w) return doubled;
    return tf.slice(doubled, [0, 0, 0, 0], [n, height, width, c]);
  });
}
