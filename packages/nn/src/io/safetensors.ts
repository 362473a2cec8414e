/**
 * The safetensors format (how torchvision, timm and the Hugging Face hub publish weights), read and
 * written without a dependency: npm has no maintained reader of local files (see the README).
 *
 * Layout: u64 little-endian N | N bytes of UTF-8 JSON | data. The JSON maps each tensor name to
 * `{dtype, shape, data_offsets: [begin, end]}` (byte offsets into the data section) and may hold a
 * `__metadata__` map of strings. Values are little-endian and C-contiguous; the tensors must cover
 * the data section exactly, without holes or overlaps.
 *
 * Every check runs before a value is decoded, and every error names the file and the tensor.
 * Reading and writing files is in './safetensors-file.ts' (`@hpf/nn/node`): this module runs in a browser.
 */

/** Bytes per element of each dtype the format defines. */
const DTYPE_BYTES = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  I64: 8,
  U64: 8,
  F64: 8,
} as const;

export type SafetensorsDtype = keyof typeof DTYPE_BYTES;

/** Floating dtypes `tensorValues` converts to float32. */
const FLOAT_DTYPES: readonly SafetensorsDtype[] = ['F32', 'F16', 'BF16', 'F64'];

/** The reference implementation refuses headers above 100 MB; so do we (a corrupt length is usually huge). */
const MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsEntry {
  dtype: SafetensorsDtype;
  shape: number[];
  /** The raw little-endian bytes (a view into the file's buffer). */
  bytes: Uint8Array;
}

export interface SafetensorsFile {
  /** Where the data came from, for error messages. */
  source: string;
  /** `__metadata__` (empty when absent). */
  metadata: Record<string, string>;
  /** Tensors in header order. */
  tensors: Map<string, SafetensorsEntry>;
}

function fail(source: string, message: string): never {
  throw new Error(`${source}: not a valid safetensors file: ${message}`);
}

/** Parses and validates a whole safetensors file held in memory (no value is decoded). */
export function parseSafetensors(data: Uint8Array, source = 'safetensors data'): SafetensorsFile {
  if (data.byteLength < 8) fail(source, `${data.byteLength} bytes, shorter than the 8-byte header length`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(Math.min(MAX_HEADER_BYTES, data.byteLength - 8))) {
    fail(source, `header length ${headerLength} does not fit in the file (${data.byteLength} bytes)`);
  }
  const n = Number(headerLength);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data.subarray(8, 8 + n)));
  } catch (error) {
    fail(source, `the header is not UTF-8 JSON (${(error as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail(source, 'the header is not a JSON object');
  const body = data.subarray(8 + n);
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, SafetensorsEntry>();
  const spans: Array<[number, number, string]> = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail(source, '__metadata__ is not an object');
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(source, `__metadata__.${k} is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const entry = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (entry === null || typeof entry !== 'object') fail(source, `tensor '${name}' has no description`);
    const { dtype, shape, data_offsets: offsets } = entry;
    if (typeof dtype !== 'string' || !Object.hasOwn(DTYPE_BYTES, dtype)) {
      fail(source, `tensor '${name}' has unknown dtype ${JSON.stringify(dtype)} (known: ${Object.keys(DTYPE_BYTES).join(', ')})`);
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(source, `tensor '${name}' has shape ${JSON.stringify(shape)}, not a list of non-negative integers`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      fail(source, `tensor '${name}' has data_offsets ${JSON.stringify(offsets)}, not [begin, end]`);
    }
    const [begin, end] = offsets as [number, number];
    const expected = (shape as number[]).reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype as SafetensorsDtype];
    if (end - begin !== expected) {
      fail(source, `tensor '${name}' (${dtype} [${(shape as number[]).join(', ')}]) needs ${expected} bytes, data_offsets [${begin}, ${end}] hold ${end - begin}`);
    }
    if (end > body.byteLength) {
      fail(source, `tensor '${name}' ends at byte ${end} of the data, which has ${body.byteLength} (truncated file?)`);
    }
    spans.push([begin, end, name]);
    tensors.set(name, { dtype: dtype as SafetensorsDtype, shape: [...(shape as number[])], bytes: body.subarray(begin, end) });
  }
  // The format forbids holes and overlaps: a file that has either was not written by a safetensors writer.
  spans.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let position = 0;
  for (const [begin, end, name] of spans) {
    if (begin !== position) fail(source, `tensor '${name}' starts at byte ${begin} of the data, expected ${position} (${begin > position ? 'a hole' : 'an overlap'})`);
    position = end;
  }
  if (position !== body.byteLength) fail(source, `the tensors cover ${position} bytes of data, the file has ${body.byteLength}`);
  return { source, metadata, tensors };
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/**
 * A floating tensor's values as float32 (F32 copied, F16 / BF16 widened, F64 rounded), in the
 * file's layout. Integer and F8 tensors are an error naming the tensor.
 */
export function tensorValues(file: SafetensorsFile, name: string): Float32Array {
  const entry = file.tensors.get(name);
  if (entry === undefined) throw new Error(`${file.source}: no tensor '${name}'`);
  const { dtype, bytes } = entry;
  if (!FLOAT_DTYPES.includes(dtype)) {
    throw new Error(`${file.source}: tensor '${name}' is ${dtype}; weights must be F32, F16, BF16 or F64`);
  }
  const count = bytes.byteLength / DTYPE_BYTES[dtype];
  // A copy: the bytes may sit at any offset of a (Node) Buffer, and the caller may keep the values.
  if (dtype === 'F32' && LITTLE_ENDIAN_HOST) return new Float32Array(new Uint8Array(bytes).buffer);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(count);
  const scratch = new DataView(new ArrayBuffer(4));
  for (let i = 0; i < count; i++) {
    if (dtype === 'F32') out[i] = view.getFloat32(4 * i, true);
    else if (dtype === 'F64') out[i] = view.getFloat64(8 * i, true);
    else if (dtype === 'BF16') {
      // bfloat16 is the upper half of a float32.
      scratch.setUint32(0, (view.getUint16(2 * i, true) << 16) >>> 0, true);
      out[i] = scratch.getFloat32(0, true);
    }
    else out[i] = halfToFloat(view.getUint16(2 * i, true));
  }
  return out;
}

export interface Float32TensorData {
  shape: readonly number[];
  values: Float32Array;
}

/**
 * Encodes float32 tensors as a safetensors file (F32, header padded with spaces to 8 bytes as the
 * reference writer does, tensors in the given order).
 */
export function encodeSafetensors(tensors: Iterable<readonly [string, Float32TensorData]>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  const parts: Float32TensorData[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    if (name === '__metadata__' || Object.hasOwn(header, name)) throw new Error(`encodeSafetensors: tensor name '${name}' is reserved or repeated`);
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (size !== t.values.length) throw new Error(`encodeSafetensors: tensor '${name}' has shape [${t.shape.join(', ')}] but ${t.values.length} values`);
    header[name] = { dtype: 'F32', shape: [...t.shape], data_offsets: [offset, offset + 4 * size] };
    parts.push(t);
    offset += 4 * size;
  }
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (new TextEncoder().encode(json).byteLength % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.byteLength + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.byteLength), true);
  out.set(headerBytes, 8);
  let position = 8 + headerBytes.byteLength;
  for (const t of parts) {
    for (let i = 0; i < t.values.length; i++) view.setFloat32(position + 4 * i, t.values[i]!, true);
    position += 4 * t.values.length;
  }
  return out;
}
