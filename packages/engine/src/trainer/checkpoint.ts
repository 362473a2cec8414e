/**
 * Training checkpoints: one file holding the model state (parameters and buffers), the optimizer's
 * momentum buffers and a JSON header (iteration, config, HPF focus state, metrics history).
 * Written to a temporary file, fsync'ed, then renamed over the previous checkpoint, so a crash or
 * Ctrl-C at any moment leaves either the old or the new checkpoint complete, never a torn one.
 *
 * Layout 2 (written): 'HPFCKPT2' | SHA-256 of everything after it (32 bytes) | uint32 LE header
 * length | header JSON (utf8) | float32 LE tensor data. The digest makes a flipped bit, a
 * truncated copy or a hand-edited header an error on load instead of wrong weights.
 * Layout 1 (still read): 'HPFCKPT1' | uint32 LE header length | header JSON | float32 LE data.
 *
 * No non-finite value is ever written or accepted: `writeCheckpoint` refuses a tensor holding NaN
 * or Infinity before it touches the disk (the previous checkpoint stays), `readCheckpoint` refuses
 * a file holding one, naming the file and the tensor.
 */
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';

const MAGIC_V1 = 'HPFCKPT1';
const MAGIC = 'HPFCKPT2';
const MAGIC_LENGTH = 8;
const DIGEST_LENGTH = 32;
/** Bytes before the header length field in each layout. */
const PREFIX_V1 = MAGIC_LENGTH;
const PREFIX_V2 = MAGIC_LENGTH + DIGEST_LENGTH;

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

/** A tensor holding NaN or ±Infinity where a checkpoint must hold finite numbers. */
export class NonFiniteTensorError extends Error {
  override readonly name = 'NonFiniteTensorError';
  constructor(
    message: string,
    readonly tensor: string,
    readonly index: number,
    readonly value: number,
  ) {
    super(message);
  }
}

/** The index of the first non-finite element, or -1. */
function firstNonFinite(values: Float32Array): number {
  for (let i = 0; i < values.length; i++) {
    // NaN fails both comparisons; ±Infinity fails one.
    const v = values[i]!;
    if (!(v > -Infinity && v < Infinity)) return i;
  }
  return -1;
}

function countNonFinite(values: Float32Array, from: number): number {
  let n = 0;
  for (let i = from; i < values.length; i++) if (!Number.isFinite(values[i]!)) n++;
  return n;
}

/**
 * Reads every tensor's values (dataSync), checks they are all finite, and writes the checkpoint
 * atomically. Throws `NonFiniteTensorError` (naming the tensor) before writing anything when one
 * is not, so the checkpoint already at `path` is kept.
 */
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
    const bad = firstNonFinite(values);
    if (bad >= 0) {
      throw new NonFiniteTensorError(
        `${path}: not written: tensor '${name}' holds ${countNonFinite(values, bad)} non-finite values (element ${bad} is ${values[bad]})`,
        name,
        bad,
        values[bad]!,
      );
    }
    records.push({ name, shape: [...t.shape], offset });
    chunks.push(values);
    offset += values.length;
  }
  const header = Buffer.from(JSON.stringify({ meta, tensors: records }), 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32LE(header.length, 0);
  const body = [length, header, ...chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength))];
  const hash = createHash('sha256');
  for (const part of body) hash.update(part);
  const prefix = Buffer.alloc(PREFIX_V2);
  prefix.write(MAGIC, 0, 'latin1');
  hash.digest().copy(prefix, MAGIC_LENGTH);
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, prefix);
      for (const part of body) writeSync(fd, part);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (error) {
    // A full disk or a vanished folder must not leave a half-written temporary file behind.
    rmSync(tmp, { force: true });
    throw error;
  }
}

/** The layout of a file's first bytes: 1, 2, or undefined for anything else. */
function layoutOf(head: Buffer): 1 | 2 | undefined {
  if (head.length < MAGIC_LENGTH) return undefined;
  const magic = head.toString('latin1', 0, MAGIC_LENGTH);
  return magic === MAGIC ? 2 : magic === MAGIC_V1 ? 1 : undefined;
}

/** true when `path` starts like an hpf checkpoint (either layout); nothing else is checked. */
export function isCheckpointFile(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(MAGIC_LENGTH);
    return layoutOf(head.subarray(0, readSync(fd, head, 0, head.length, 0))) !== undefined;
  } finally {
    closeSync(fd);
  }
}

function notACheckpoint(path: string): Error {
  return new Error(`${path}: not an hpf checkpoint (it does not start with '${MAGIC}' or '${MAGIC_V1}')`);
}

function parseHeader<Meta>(path: string, text: string): { meta: Meta; tensors: TensorRecord[] } {
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (error) {
    throw new Error(`${path}: the checkpoint header is damaged (not valid JSON: ${(error as Error).message})`, { cause: error });
  }
  const h = header as { meta?: unknown; tensors?: unknown };
  if (typeof header !== 'object' || header === null || typeof h.meta !== 'object' || h.meta === null || !Array.isArray(h.tensors)) {
    throw new Error(`${path}: the checkpoint header is damaged (no 'meta' object or 'tensors' list)`);
  }
  for (const r of h.tensors as Array<Partial<TensorRecord>>) {
    const ok = typeof r?.name === 'string' && Array.isArray(r.shape) && r.shape.every((d) => Number.isInteger(d) && d >= 0) && Number.isInteger(r.offset) && r.offset! >= 0;
    if (!ok) throw new Error(`${path}: the checkpoint header is damaged (tensor entry ${JSON.stringify(r)})`);
  }
  return header as { meta: Meta; tensors: TensorRecord[] };
}

/**
 * The JSON header of a checkpoint without reading (or verifying) its tensor data: for choosing
 * settings before the full `readCheckpoint`, which verifies everything.
 */
export function readCheckpointMeta<Meta>(path: string): Meta {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(PREFIX_V2 + 4);
    const got = readSync(fd, head, 0, head.length, 0);
    const layout = layoutOf(head.subarray(0, got));
    if (layout === undefined) throw notACheckpoint(path);
    const at = layout === 2 ? PREFIX_V2 : PREFIX_V1;
    if (got < at + 4) throw new Error(`${path}: the checkpoint is truncated (${got} bytes, shorter than its fixed prefix)`);
    const header = Buffer.alloc(head.readUInt32LE(at));
    const read = readSync(fd, header, 0, header.length, at + 4);
    if (read < header.length) throw new Error(`${path}: the checkpoint is truncated (its header needs ${header.length} bytes, ${read} are there)`);
    return parseHeader<Meta>(path, header.toString('utf8')).meta;
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads and verifies a checkpoint: its digest (layout 2), its header, that the data section holds
 * exactly the tensors the header lists, and that every value is finite. Errors name the file and
 * what is wrong.
 */
export function readCheckpoint<Meta>(path: string): CheckpointFile<Meta> {
  const bytes = readFileSync(path);
  const layout = layoutOf(bytes);
  if (layout === undefined) throw notACheckpoint(path);
  const at = layout === 2 ? PREFIX_V2 : PREFIX_V1;
  if (bytes.length < at + 4) throw new Error(`${path}: the checkpoint is truncated (${bytes.length} bytes, shorter than its fixed prefix)`);
  if (layout === 2) {
    const stored = bytes.subarray(MAGIC_LENGTH, PREFIX_V2);
    const actual = createHash('sha256').update(bytes.subarray(PREFIX_V2)).digest();
    if (!actual.equals(stored)) {
      throw new Error(
        `${path}: the checkpoint is damaged: its SHA-256 is ${actual.toString('hex').slice(0, 16)}..., the file records ${stored.toString('hex').slice(0, 16)}... ` +
          `(truncated, or bytes changed since it was written); it is not loaded`,
      );
    }
  }
  const headerLength = bytes.readUInt32LE(at);
  const dataStart = at + 4 + headerLength;
  if (dataStart > bytes.length) throw new Error(`${path}: the checkpoint is truncated (its header needs ${headerLength} bytes, ${bytes.length - at - 4} are there)`);
  const header = parseHeader<Meta>(path, bytes.toString('utf8', at + 4, dataStart));
  const expected = header.tensors.reduce((end, r) => Math.max(end, r.offset + r.shape.reduce((a, b) => a * b, 1)), 0);
  const dataBytes = bytes.length - dataStart;
  if (dataBytes !== 4 * expected) {
    const what = dataBytes < 4 * expected ? 'truncated' : 'longer than its header says';
    throw new Error(`${path}: the checkpoint is ${what}: its tensors need ${4 * expected} bytes of data, the file has ${dataBytes}`);
  }
  // Copy into an aligned buffer: Float32Array views need 4-byte aligned offsets.
  const data = new Float32Array(new Uint8Array(bytes.subarray(dataStart)).buffer);
  const tensors = new Map<string, { shape: number[]; values: Float32Array }>();
  for (const r of header.tensors) {
    const size = r.shape.reduce((a, b) => a * b, 1);
    const values = data.subarray(r.offset, r.offset + size);
    const bad = firstNonFinite(values);
    if (bad >= 0) {
      throw new NonFiniteTensorError(
        `${path}: tensor '${r.name}' holds ${countNonFinite(values, bad)} non-finite values (element ${bad} is ${values[bad]}); the checkpoint is not loaded`,
        r.name,
        bad,
        values[bad]!,
      );
    }
    tensors.set(r.name, { shape: r.shape, values });
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
