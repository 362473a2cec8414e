/**
 * Training checkpoints: one file holding the model state (parameters and buffers), the optimizer's
 * momentum buffers and a JSON header (iteration, config, HPF focus state, metrics history).
 * Written to a temporary file, fsync'ed, then renamed over the previous checkpoint, so a crash or
 * Ctrl-C at any moment leaves either the old or the new checkpoint complete, never a torn one.
 *
 * Layout: 'HPFCKPT1' | uint32 LE header length | header JSON (utf8) | float32 LE tensor data.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';

const MAGIC = 'HPFCKPT1';

export interface TensorRecord {
  name: string;
  shape: number[];
  /** Offset in float32 elements from the start of the data section. */
  offset: number;
}

export interface CheckpointFile<Meta> {
  meta: Meta;
  tensors: Map<string, { shape: number[]; values: Float32Array }>;
}

/** Reads every tensor's values (dataSync) and writes the checkpoint atomically. */
export function writeCheckpoint(path: string, meta: unknown, tensors: ReadonlyArray<readonly [string, tf.Tensor]>): void {
  const records: TensorRecord[] = [];
  const chunks: Float32Array[] = [];
  let offset = 0;
  const seen = new Set<string>();
  for (const [name, t] of tensors) {
    if (seen.has(name)) throw new Error(`writeCheckpoint: duplicate tensor name '${name}'`);
    seen.add(name);
    if (t.dtype !== 'float32') throw new Error(`writeCheckpoint: tensor '${name}' is ${t.dtype}, only float32 is stored`);
    const values = t.dataSync() as Float32Array;
    records.push({ name, shape: [...t.shape], offset });
    chunks.push(values);
    offset += values.length;
  }
  const header = Buffer.from(JSON.stringify({ meta, tensors: records }), 'utf8');
  const prefix = Buffer.alloc(MAGIC.length + 4);
  prefix.write(MAGIC, 0, 'latin1');
  prefix.writeUInt32LE(header.length, MAGIC.length);
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, prefix);
    writeSync(fd, header);
    for (const c of chunks) writeSync(fd, Buffer.from(c.buffer, c.byteOffset, c.byteLength));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

export function readCheckpoint<Meta>(path: string): CheckpointFile<Meta> {
  const bytes = readFileSync(path);
  if (bytes.length < MAGIC.length + 4 || bytes.toString('latin1', 0, MAGIC.length) !== MAGIC) {
    throw new Error(`${path}: not an hpf checkpoint (missing '${MAGIC}' header)`);
  }
  const headerLength = bytes.readUInt32LE(MAGIC.length);
  const dataStart = MAGIC.length + 4 + headerLength;
  if (dataStart > bytes.length) throw new Error(`${path}: checkpoint header is truncated`);
  const header = JSON.parse(bytes.toString('utf8', MAGIC.length + 4, dataStart)) as { meta: Meta; tensors: TensorRecord[] };
  // Copy into an aligned buffer: Float32Array views need 4-byte aligned offsets.
  const data = new Float32Array(new Uint8Array(bytes.subarray(dataStart)).buffer);
  const tensors = new Map<string, { shape: number[]; values: Float32Array }>();
  for (const r of header.tensors) {
    const size = r.shape.reduce((a, b) => a * b, 1);
    if (r.offset + size > data.length) throw new Error(`${path}: tensor '${r.name}' is truncated`);
    tensors.set(r.name, { shape: r.shape, values: data.subarray(r.offset, r.offset + size) });
  }
  return { meta: header.meta, tensors };
}

/** Assigns stored values to variables by name; every variable must be present with its shape. */
export function assignVariables(path: string, file: CheckpointFile<unknown>, variables: ReadonlyArray<readonly [string, tf.Variable]>): void {
  for (const [name, v] of variables) {
    const stored = file.tensors.get(name);
    if (stored === undefined) throw new Error(`${path}: checkpoint has no tensor '${name}'`);
    if (!tf.util.arraysEqual(stored.shape, v.shape)) {
      throw new Error(`${path}: tensor '${name}' has shape [${stored.shape}] in the checkpoint but [${v.shape}] in the model`);
    }
  }
  for (const [name, v] of variables) {
    const stored = file.tensors.get(name)!;
    tf.tidy(() => v.assign(tf.tensor(stored.values, stored.shape, 'float32')));
  }
}
