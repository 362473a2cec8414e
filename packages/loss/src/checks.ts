import type * as tf from '@tensorflow/tfjs-core';

const shapeText = (t: tf.Tensor): string => `[${t.shape.join(', ')}]`;

/** Throws unless `t` has rank 2; returns [rows, cols]. */
export function expectMatrix(t: tf.Tensor, name: string, where: string): [number, number] {
  if (t.rank !== 2) throw new Error(`${where}: ${name} must have shape [N, C], got ${shapeText(t)}`);
  return [t.shape[0]!, t.shape[1]!];
}

/** Throws unless `t` has shape [n]. */
export function expectVector(t: tf.Tensor, n: number, name: string, where: string): void {
  if (t.rank !== 1 || t.shape[0] !== n) throw new Error(`${where}: ${name} must have shape [${n}], got ${shapeText(t)}`);
}

/** Throws unless `t` has exactly `shape`. */
export function expectShape(t: tf.Tensor, shape: readonly number[], name: string, where: string): void {
  if (t.rank !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new Error(`${where}: ${name} must have shape [${shape.join(', ')}], got ${shapeText(t)}`);
  }
}

export function expectDtype(t: tf.Tensor, dtype: tf.DataType, name: string, where: string): void {
  if (t.dtype !== dtype) throw new Error(`${where}: ${name} must be ${dtype}, got ${t.dtype}`);
}

/** Throws unless `value` is a finite number >= min (or > min when `strict`). */
export function expectNumber(value: unknown, name: string, where: string, min = -Infinity, strict = false): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || (strict && value === min)) {
    const bound = min === -Infinity ? 'a finite number' : `a finite number ${strict ? '>' : '>='} ${min}`;
    throw new Error(`${where}: ${name} must be ${bound}, got ${String(value)}`);
  }
  return value;
}

/** Throws on keys of `options` that are not in `known`. */
export function rejectUnknownKeys(options: object, known: readonly string[], where: string): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new Error(`${where}: unknown option '${key}' (known: ${known.join(', ')})`);
  }
}
