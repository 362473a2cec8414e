import type * as tf from '@tensorflow/tfjs-core';

/** The tfjs weights format's constants and sizes, shared by the file handler and the loaders (no Node module). */
export const MODEL_JSON = 'model.json';
/** tfjs-converter's default shard size. */
export const DEFAULT_SHARD_BYTES = 4 * 1024 * 1024;

export interface FileHandlerOptions {
  /** Maximum bytes per binary shard. Default 4 MiB. */
  shardBytes?: number;
}

const BYTES_PER_DTYPE: Record<string, number> = { float32: 4, int32: 4, bool: 1, complex64: 8 };
const BYTES_PER_QUANTIZED: Record<string, number> = { uint8: 1, uint16: 2, float16: 2 };

/** Bytes a manifest entry occupies in the weight data (fixed-size dtypes only). */
export function weightByteLength(spec: tf.io.WeightsManifestEntry): number {
  const size = spec.shape.reduce((a, b) => a * b, 1);
  const perValue = spec.quantization !== undefined ? BYTES_PER_QUANTIZED[spec.quantization.dtype] : BYTES_PER_DTYPE[spec.dtype];
  if (perValue === undefined) {
    throw new Error(`weight '${spec.name}' has unsupported dtype ${spec.quantization?.dtype ?? spec.dtype}`);
  }
  return size * perValue;
}

