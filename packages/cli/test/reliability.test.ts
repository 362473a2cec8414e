// What a user who keeps weeks of training in run folders expects when something goes wrong: no
// NaN on disk, damaged files refused by name, the input size and the data summary said up front,
// an unwritable --out or a checkpoint of another backend refused before any work.
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { installTrainingKernels } from '@hpf/engine';
import { readCheckpoint, writeCheckpoint } from '@hpf/engine/node';
import { encodeImage, type CocoInstances } from '@hpf/data';
import { defaultInputSize, isOutOfMemory, outOfMemoryError, runTraining, TrainingStoppedError, type CheckpointMeta } from '../src/train.js';
import { openRun } from '../src/run-files.js';
import { exportRun } from '../src/export.js';
import { tinyDataset, tinyOptions } from './support.js';

let data = '';
beforeAll(async () => {
  installTrainingKernels();
  await tf.setBackend('wasm');
  data = tinyDataset();
});

const scratch = (): string => mkdtempSync(join(tmpdir(), 'hpf-cli-rel-'));

function rewriteMeta(path: string, edit: (meta: CheckpointMeta) => CheckpointMeta): void {
  const { meta, tensors } = readCheckpoint<CheckpointMeta>(path);
  const list = [...tensors].map(([n, t]) => [n, tf.tensor(t.values, t.shape)] as const);
  writeCheckpoint(path, edit(meta), list);
  tf.dispose(list.map(([, t]) => t));
}

/** The byte offset of tensor `name`'s first value in a layout-2 checkpoint. */
function dataOffset(bytes: Buffer, name: string): number {
  const headerLength = bytes.readUInt32LE(40);
  const header = JSON.parse(bytes.toString('utf8', 44, 44 + headerLength)) as { tensors: Array<{ name: string; offset: number }> };
  return 44 + headerLength + 4 * header.tensors.find((t) => t.name === name)!.offset;
}

describe('checkpoints on disk', () => {
  it('a learning-rate blow-up never leaves NaN weights in a checkpoint (--lr 1e39 --warmup-iters 0 --checkpoint-every 1)', async () => {
    const out = scratch();
    const error = await runTraining(tinyOptions(data, out, { steps: 4, lr: 1e39, warmupIters: 0, checkpointEvery: 1 })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TrainingStoppedError);
    expect((error as Error).message).toMatch(/^training stopped at iteration 1: tensor '(model|momentum)\/[\w.]+' is not finite \(element \d+ is (NaN|-?Infinity)\); no checkpoint was written \(lr 1e\+39 at the iteration before\)$/);
    expect((error as TrainingStoppedError).iteration).toBe(1);
    // the first update already blew the weights up: no checkpoint (nor best.hpf), not even a temporary file
    expect(readdirSync(out).filter((f) => f.includes('.hpf') || f.includes('.tmp-'))).toEqual([]);
  });

  it('a flipped byte, a truncated copy or a NaN patched in (digest recomputed) is refused by name: --resume, --load-from, eval/predict/export', async () => {
    const out = scratch();
    const options = tinyOptions(data, out, { steps: 2 });
    await runTraining(options);
    const path = join(out, 'checkpoint.hpf');
    const good = readFileSync(path);
    const name = 'model/bbox_head.atss_cls.weight';
    const at = dataOffset(good, name);
    const loaders: Array<[string, () => Promise<unknown>]> = [
      ['--resume', () => runTraining({ ...options, resume: true })],
      ['--load-from', () => runTraining({ ...tinyOptions(data, scratch(), { steps: 2 }), loadFrom: out })],
      ['openRun (eval, predict)', () => openRun(out)],
      ['export', () => exportRun(out, join(scratch(), 'model'))],
    ];
    const expectRefused = async (message: string | RegExp): Promise<void> => {
      for (const [what, load] of loaders) await expect(load(), what).rejects.toThrow(message);
    };

    const flipped = Buffer.from(good);
    flipped[at + 2] = flipped[at + 2]! ^ 0x01;
    writeFileSync(path, flipped);
    await expectRefused(new RegExp(`^${path}: the checkpoint is damaged: its SHA-256 is [0-9a-f]+\\.\\.\\., the file records [0-9a-f]+\\.\\.\\. \\(truncated, or bytes changed since it was written\\); it is not loaded$`));

    writeFileSync(path, good.subarray(0, good.length - 1001));
    await expectRefused(`${path}: the checkpoint is damaged`);

    const patched = Buffer.from(good);
    patched.writeFloatLE(Number.NaN, at + 8);
    createHash('sha256').update(patched.subarray(40)).digest().copy(patched, 8);
    writeFileSync(path, patched);
    await expectRefused(`${path}: tensor '${name}' holds 1 non-finite values (element 2 is NaN); the checkpoint is not loaded`);

    writeFileSync(path, good);
    await expect(openRun(out).then((r) => r.detector.dispose())).resolves.toBeUndefined();
  });

  it('a resume on another backend than the checkpoint\'s is refused naming both and --allow-backend-change', async () => {
    const out = scratch();
    const options = tinyOptions(data, out, { steps: 3 });
    const controller = new AbortController();
    await runTraining(options, { signal: controller.signal, onIteration: () => controller.abort() });
    const path = join(out, 'checkpoint.hpf');
    expect(readCheckpoint<CheckpointMeta>(path).meta).toMatchObject({ format: 3, backend: 'wasm', iteration: 1 });
    rewriteMeta(path, (meta) => ({ ...meta, backend: 'tensorflow' }));
    await expect(runTraining({ ...options, resume: true })).rejects.toThrow(
      `${path}: --resume of a checkpoint computed on the 'tensorflow' backend on 'wasm': the same result is promised only on the same backend; run with --backend tensorflow, or pass --allow-backend-change to continue on 'wasm' anyway`,
    );
    const lines: string[] = [];
    const resumed = await runTraining({ ...options, resume: true, allowBackendChange: true }, { log: (l) => lines.push(l) });
    expect(resumed.history).toHaveLength(3);
    expect(lines.some((l) => l.includes("resuming a checkpoint of the 'tensorflow' backend on 'wasm'"))).toBe(true);
  });
});

describe('before the first iteration', () => {
  it('the default input size is the median longer side, a multiple of 32, at most 640', () => {
    const sq = (s: number) => ({ width: s, height: s });
    expect(defaultInputSize([{ width: 2000, height: 1500 }, sq(96), sq(96), sq(100), sq(90)])).toEqual({ size: 96, median: 96 });
    expect(defaultInputSize([sq(100), sq(120)])).toEqual({ size: 96, median: 110 });
    expect(defaultInputSize([{ width: 4000, height: 3000 }])).toEqual({ size: 640, median: 4000 });
    expect(defaultInputSize([sq(5)])).toEqual({ size: 32, median: 5 });
    expect(() => defaultInputSize([])).toThrow('no images');
  });

  it('a large first image does not set the input size; the size and a dataset summary are printed first', async () => {
    const root = scratch();
    const pixels = (w: number, h: number) => ({ width: w, height: h, data: new Uint8Array(w * h * 3).fill(90) });
    const instances: CocoInstances = {
      images: [
        { id: 1, file_name: 'big.png', width: 2000, height: 1500 },
        ...[2, 3, 4, 5].map((id) => ({ id, file_name: `s${id}.png`, width: 96, height: 96 })),
      ],
      categories: [{ id: 1, name: 'thing' }],
      annotations: [
        { id: 1, image_id: 1, category_id: 1, bbox: [100, 100, 600, 400] },
        { id: 2, image_id: 2, category_id: 1, bbox: [10, 10, 30, 30] },
        { id: 3, image_id: 3, category_id: 1, bbox: [10, 10, 0, 30] }, // zero width
        { id: 4, image_id: 4, category_id: 1, bbox: [100, 10, 20, 20] }, // right of the image
        { id: 5, image_id: 5, category_id: 1, bbox: [40, 40, 30, 20] },
      ],
    } as CocoInstances;
    for (const split of ['train', 'val']) {
      mkdirSync(join(root, split));
      for (const im of instances.images) writeFileSync(join(root, split, im.file_name), encodeImage(pixels(im.width, im.height), im.file_name));
      writeFileSync(join(root, split, 'instances.json'), JSON.stringify(instances));
    }
    const lines: string[] = [];
    const stop = new AbortController();
    stop.abort();
    // stopped before its first iteration: nothing trains at whatever size was chosen
    const result = await runTraining({ ...tinyOptions(root, scratch(), { steps: 2, evaluate: true }), inputSize: undefined }, { signal: stop.signal, log: (l) => lines.push(l) });
    expect(result.inputSize).toBe(96);
    expect(result.history).toHaveLength(0);
    expect(lines).toContain('input size 96 px (median longer image side 96 px, rounded to a multiple of 32; --input-size to change)');
    const train = lines.find((l) => l.startsWith('train: '))!;
    expect(train).toContain('train/instances.json: 5 images, 3 boxes, 0 crowd (ignored) regions, 1 zero-area and 1 outside-the-image annotations skipped');
    expect(lines.some((l) => l.startsWith('val: ') && l.includes('val/instances.json: 5 images, 3 boxes'))).toBe(true);
    expect(lines.indexOf(train)).toBeLessThan(lines.findIndex((l) => l.startsWith('input size')));
  });

  it('a resume keeps the input size its checkpoint was trained at', async () => {
    const out = scratch();
    const options = { ...tinyOptions(data, out, { steps: 2 }), inputSize: undefined };
    const controller = new AbortController();
    const first = await runTraining(options, { signal: controller.signal, onIteration: () => controller.abort() });
    // digits-det quick images are 128 px
    expect(first.inputSize).toBe(128);
    // as an hpf whose default was another size would have written it
    rewriteMeta(join(out, 'checkpoint.hpf'), (meta) => ({ ...meta, inputSize: 64 }));
    const lines: string[] = [];
    const resumed = await runTraining({ ...options, resume: true }, { log: (l) => lines.push(l) });
    expect(resumed.inputSize).toBe(64);
    expect(lines).toContain("input size 64 px (the checkpoint's; --input-size to change)");
  });

  it('an out-of-memory abort becomes an error naming --input-size and --batch-size', () => {
    // what tfjs-backend-wasm throws when its heap cannot grow (emscripten's abort)
    const { RuntimeError } = (globalThis as unknown as { WebAssembly: { RuntimeError: ErrorConstructor } }).WebAssembly;
    const abort = new RuntimeError('Aborted(). Build with -sASSERTIONS for more info.');
    expect(isOutOfMemory(abort)).toBe(true);
    expect(isOutOfMemory(new Error('Cannot enlarge memory arrays to size 4294967296 bytes'))).toBe(true);
    expect(isOutOfMemory(new RangeError('Array buffer allocation failed'))).toBe(true);
    expect(isOutOfMemory(new Error("tensor 'x' has shape [2] in the checkpoint"))).toBe(false);
    expect(outOfMemoryError(abort, 4000, 8).message).toBe(
      'out of memory training at --input-size 4000 with --batch-size 8 (wasm backend: Aborted(). Build with -sASSERTIONS for more info.); give a smaller --input-size or --batch-size',
    );
  });

  it('an --out that cannot be written fails at once naming it, with nothing written', async () => {
    const parent = scratch();
    writeFileSync(join(parent, 'a-file'), 'x');
    const out = join(parent, 'a-file', 'run');
    let started = false;
    await expect(runTraining(tinyOptions(data, out), { onStart: () => (started = true) })).rejects.toThrow(new RegExp(`^--out: cannot write in ${out} \\(ENOTDIR`));
    expect(started).toBe(false);
    expect(readdirSync(parent)).toEqual(['a-file']);
    if (process.getuid?.() !== 0) {
      // root writes in read-only folders: this half only means something for other users
      const readOnly = join(parent, 'read-only');
      mkdirSync(readOnly);
      chmodSync(readOnly, 0o555);
      await expect(runTraining(tinyOptions(data, readOnly))).rejects.toThrow(`--out: cannot write in ${readOnly} (EACCES`);
      expect(readdirSync(readOnly)).toEqual([]);
    }
    expect(existsSync(out)).toBe(false);
  });
});
