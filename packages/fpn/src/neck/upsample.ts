import * as tf from '@tensorflow/tfjs-core';

/**
 * Nearest-neighbour resize of NHWC `x` to [height, width] with torch's `F.interpolate(size=...,
 * mode='nearest')` rule: source index = floor(dst * in / out).
 *
 * When out is 2*in or 2*in-1 (every FPN top-down step, since stride-2 convs give ceil(in / 2)),
 * that rule equals "repeat each pixel twice, crop", which we build from reshape/tile/slice: their
 * gradients exist on every backend, unlike ResizeNearestNeighborGrad on wasm.
 * Returns a new tensor owned by the caller.
 */
export function upsampleNearest(x: tf.Tensor4D, height: number, width: number): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const doubles = (out: number, inp: number) => out === 2 * inp || out === 2 * inp - 1;
  if (!doubles(height, h) || !doubles(width, w)) {
    return tf.image.resizeNearestNeighbor(x, [height, width], false, false);
  }
  return tf.tidy(() => {
    // Two rank-4 tiles: tfjs's Tile gradient only supports rank <= 4.
    const wide = tf.tile(tf.reshape(x, [n * h, w, 1, c]), [1, 1, 2, 1]);
    const tall = tf.tile(tf.reshape(wide, [n, h, 1, 2 * w * c]), [1, 1, 2, 1]);
    const doubled = tf.reshape(tall, [n, 2 * h, 2 * w, c]) as tf.Tensor4D;
    if (height === 2 * h && width === 2 * w) return doubled;
    return tf.slice(doubled, [0, 0, 0, 0], [n, height, width, c]);
  });
}
