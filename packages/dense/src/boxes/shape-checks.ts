import type * as tf from '@tensorflow/tfjs-core';

/** Throws unless `t` has rank >= 1 and a last dimension of `size` (boxes: 4, points: 2). */
export function checkLastDim(where: string, name: string, t: tf.Tensor, size: number): void {
  if (t.rank < 1 || t.shape[t.rank - 1] !== size) {
    throw new Error(`${where}: ${name} must have shape [..., ${size}], got [${t.shape.join(', ')}]`);
  }
}

/** Throws unless `t` is [N, size]. */
export function checkMatrix(where: string, name: string, t: tf.Tensor, size: number): void {
  if (t.rank !== 2 || t.shape[1] !== size) {
    throw new Error(`${where}: ${name} must have shape [N, ${size}], got [${t.shape.join(', ')}]`);
  }
}
