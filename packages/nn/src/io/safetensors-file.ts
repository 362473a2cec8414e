// Node only (node:fs): safetensors files on disk, exported from '@hpf/nn/node'.
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from './file-handler.js';
import { encodeSafetensors, parseSafetensors, type Float32TensorData, type SafetensorsFile } from './safetensors.js';

/** Reads and validates a safetensors file. */
export function readSafetensors(path: string): SafetensorsFile {
  let data: Uint8Array;
  try {
    data = readFileSync(path);
  } catch (error) {
    throw new Error(`cannot read weights file '${path}': ${(error as Error).message}`, { cause: error });
  }
  return parseSafetensors(data, path);
}

/** Writes `encodeSafetensors(...)` to `path` atomically (temp file, fsync, rename). */
export async function writeSafetensors(path: string, tensors: Iterable<readonly [string, Float32TensorData]>, metadata: Record<string, string> = {}): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}
