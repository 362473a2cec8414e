import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCheckpointFile, NonFiniteTensorError, readCheckpoint, readCheckpointMeta, writeCheckpoint } from '../src/node.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const dir = mkdtempSync(join(tmpdir(), 'hpf-ckpt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const META = { iteration: 7, note: 'a' };
const A = [1, -2.5, 3, 4e-3, 5, 6];
const B = [0.25, 0.5];

/** A checkpoint with tensors 'a' [2, 3] and 'b' [2]; returns its path and bytes. */
function written(name: string): { path: string; bytes: Buffer } {
  const path = join(dir, name);
  const tensors = [['a', tf.tensor2d(A, [2, 3])], ['b', tf.tensor1d(B)]] as const;
  writeCheckpoint(path, META, tensors);
  tf.dispose(tensors.map(([, t]) => t));
  return { path, bytes: readFileSync(path) };
}

/** Writes `bytes` with its SHA-256 field recomputed, as a tool editing the file on purpose would. */
function rehashed(path: string, bytes: Buffer): void {
  const copy = Buffer.from(bytes);
  createHash('sha256').update(copy.subarray(40)).digest().copy(copy, 8);
  writeFileSync(path, copy);
}

/** A layout-1 file ('HPFCKPT1', no digest) as hpf wrote them before layout 2. */
function layout1(path: string, meta: unknown, tensors: Array<[string, number[], number[]]>): Buffer {
  let offset = 0;
  const records = tensors.map(([name, shape, values]) => {
    const r = { name, shape, offset };
    offset += values.length;
    return r;
  });
  const header = Buffer.from(JSON.stringify({ meta, tensors: records }), 'utf8');
  const prefix = Buffer.alloc(12);
  prefix.write('HPFCKPT1', 0, 'latin1');
  prefix.writeUInt32LE(header.length, 8);
  const data = Float32Array.from(tensors.flatMap(([, , v]) => v));
  const bytes = Buffer.concat([prefix, header, Buffer.from(data.buffer)]);
  writeFileSync(path, bytes);
  return bytes;
}

describe('checkpoint files', () => {
  it('round-trip tensors and header in layout 2 (magic, SHA-256 of the rest)', () => {
    const { path, bytes } = written('ok.hpf');
    expect(bytes.subarray(0, 8).toString('latin1')).toBe('HPFCKPT2');
    expect(bytes.subarray(8, 40)).toEqual(createHash('sha256').update(bytes.subarray(40)).digest());
    const file = readCheckpoint<typeof META>(path);
    expect(file.meta).toEqual(META);
    expect(file.tensors.get('a')!.shape).toEqual([2, 3]);
    expect(Array.from(file.tensors.get('a')!.values)).toEqual(Array.from(Float32Array.from(A)));
    expect(Array.from(file.tensors.get('b')!.values)).toEqual(B);
    expect(readCheckpointMeta(path)).toEqual(META);
    expect(isCheckpointFile(path)).toBe(true);
  });

  it('refuses a flipped byte anywhere after the magic, and a truncated file, naming the file', () => {
    const { path, bytes } = written('flip.hpf');
    const headerStart = 44;
    const dataByte = bytes.length - 5;
    for (const at of [9, 41, headerStart + 3, dataByte]) {
      const copy = Buffer.from(bytes);
      copy[at] = copy[at]! ^ 0x10;
      writeFileSync(path, copy);
      expect(() => readCheckpoint(path), `byte ${at}`).toThrow(new RegExp(`^${path}: the checkpoint is damaged: its SHA-256 is [0-9a-f]{16}\\.\\.\\., the file records`));
    }
    writeFileSync(path, bytes.subarray(0, bytes.length - 6));
    expect(() => readCheckpoint(path)).toThrow(`${path}: the checkpoint is damaged`);
    writeFileSync(path, bytes.subarray(0, 20));
    expect(() => readCheckpoint(path)).toThrow(`${path}: the checkpoint is truncated (20 bytes, shorter than its fixed prefix)`);
    writeFileSync(path, Buffer.from('{"meta": {}}'));
    expect(() => readCheckpoint(path)).toThrow(`${path}: not an hpf checkpoint (it does not start with 'HPFCKPT2' or 'HPFCKPT1')`);
    expect(isCheckpointFile(path)).toBe(false);
  });

  it('refuses NaN or Infinity patched in with a valid digest, naming the file and tensor', () => {
    const { path, bytes } = written('nan.hpf');
    const data = bytes.length - 4 * (A.length + B.length);
    const patched = Buffer.from(bytes);
    patched.writeFloatLE(Number.NaN, data + 4 * (A.length + 1));
    rehashed(path, patched);
    const error = (() => {
      try {
        readCheckpoint(path);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(NonFiniteTensorError);
    expect((error as Error).message).toBe(`${path}: tensor 'b' holds 1 non-finite values (element 1 is NaN); the checkpoint is not loaded`);
    patched.writeFloatLE(Number.NEGATIVE_INFINITY, data);
    rehashed(path, patched);
    expect(() => readCheckpoint(path)).toThrow(`${path}: tensor 'a' holds 1 non-finite values (element 0 is -Infinity)`);
  });

  it('writes nothing for a non-finite tensor: the file already there is kept, no temporary file is left', () => {
    const { path, bytes } = written('keep.hpf');
    const bad = [['a', tf.tensor1d([1, Number.NaN, Number.POSITIVE_INFINITY])]] as const;
    expect(() => writeCheckpoint(path, META, bad)).toThrow(`${path}: not written: tensor 'a' holds 2 non-finite values (element 1 is NaN)`);
    expect(() => writeCheckpoint(join(dir, 'never.hpf'), META, bad)).toThrow(NonFiniteTensorError);
    tf.dispose(bad.map(([, t]) => t));
    expect(readFileSync(path)).toEqual(bytes);
    expect(existsSync(join(dir, 'never.hpf'))).toBe(false);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('still reads layout 1, and names its damage: truncated data, a broken header', () => {
    const path = join(dir, 'v1.hpf');
    const bytes = layout1(path, META, [['a', [2, 3], A], ['b', [2], B]]);
    const file = readCheckpoint<typeof META>(path);
    expect(file.meta).toEqual(META);
    expect(Array.from(file.tensors.get('b')!.values)).toEqual(B);
    expect(readCheckpointMeta(path)).toEqual(META);
    // cut mid-float: the bare Float32Array error before
    writeFileSync(path, bytes.subarray(0, bytes.length - 5));
    expect(() => readCheckpoint(path)).toThrow(`${path}: the checkpoint is truncated: its tensors need 32 bytes of data, the file has 27`);
    const broken = Buffer.from(bytes);
    broken[12] = 0x7b ^ 0x01; // the header's opening '{'
    writeFileSync(path, broken);
    expect(() => readCheckpoint(path)).toThrow(new RegExp(`^${path}: the checkpoint header is damaged \\(not valid JSON: `));
    expect(() => readCheckpointMeta(path)).toThrow(`${path}: the checkpoint header is damaged`);
    layout1(path, META, [['a', [2], [1, Number.NaN]]]);
    expect(() => readCheckpoint(path)).toThrow(`${path}: tensor 'a' holds 1 non-finite values`);
  });
});
