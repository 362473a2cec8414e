import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Detector } from '@hpf/dense';
import { DETECTOR_FACTORIES, loadDetector as loadFromUrlOrFiles, MODEL_FORMAT, PIXELS_01, type ModelJson } from '../src/index.js';
import { exportDetector, loadDetector } from '../src/node.js';

const root = mkdtempSync(join(tmpdir(), 'hpf-model-'));
let counter = 0;
const freshDir = () => join(root, `m${counter++}`);

beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const CLASSES = [
  { id: 1, name: 'one' },
  { id: 7, name: 'seven' },
  { id: 9, name: 'nine' },
];
const OPTIONS = { numClasses: 3, backbone: 'resnet10-mini', neckChannels: 32, featChannels: 32, stackedConvs: 1, hpf: true, seed: 0, test: { scoreThreshold: 0, nmsPre: 50, maxPerImage: 20 } };

async function build(name: string): Promise<Detector> {
  const detector = (await DETECTOR_FACTORIES[name]!())(OPTIONS);
  // BatchNorm statistics and weights far from their initial values, as after training, so the
  // fold has something to fold.
  let k = 0;
  for (const [param, v] of detector.model.stateDict()) {
    tf.tidy(() => {
      if (/\.(bn\d?|downsample\.1)\.(weight|running_var)$/.test(param)) v.assign(tf.randomUniform(v.shape, 0.5, 2, 'float32', k++));
      else if (/\.(bn\d?|downsample\.1)\.(bias|running_mean)$/.test(param)) v.assign(tf.randomUniform(v.shape, -0.3, 0.3, 'float32', k++));
    });
  }
  return detector;
}

/** Every head output of an eval-mode forward, flattened. */
function headOutputs(detector: Detector, images: tf.Tensor4D): Float32Array[] {
  detector.model.eval();
  return tf.tidy(() => {
    const out = detector.model.forward(images) as Record<string, tf.Tensor[] | undefined>;
    return Object.keys(out)
      .sort()
      .flatMap((key) => (out[key] ?? []).map((t) => t.dataSync() as Float32Array));
  });
}

function maxRelativeDiff(a: Float32Array[], b: Float32Array[]): number {
  expect(b.map((x) => x.length)).toEqual(a.map((x) => x.length));
  let worst = 0;
  a.forEach((x, i) => {
    const scale = Math.max(1e-3, ...Array.from(x, Math.abs));
    for (let j = 0; j < x.length; j++) worst = Math.max(worst, Math.abs(x[j]! - b[i]![j]!) / scale);
  });
  return worst;
}

describe('export and load, every detector', () => {
  const images = () => tf.randomUniform([1, 64, 64, 3], 0, 1, 'float32', 5) as tf.Tensor4D;

  for (const name of Object.keys(DETECTOR_FACTORIES)) {
    it(`${name}: the loaded model's head outputs equal the trained detector's (BatchNorm folded), no tensor leaks`, async () => {
      const x = images();
      const tensorsBefore = tf.memory().numTensors;
      const detector = await build(name);
      const expected = headOutputs(detector, x);
      const dir = freshDir();
      const written = await exportDetector(detector, { detector: name, options: OPTIONS, classes: CLASSES, inputSize: 64 }, dir);
      detector.dispose();
      expect(written.files.at(-1)!.path).toBe(join(dir, 'model.json'));

      const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as ModelJson;
      expect(json.format).toBe(MODEL_FORMAT);
      expect(json.userDefinedMetadata.hpf).toMatchObject({ formatVersion: 1, detector: name, classes: CLASSES, inputSize: 64, normalization: PIXELS_01, batchNormFolded: true });
      expect(json.userDefinedMetadata.hpf.config.numClasses).toBe(3);
      const names = json.weightsManifest[0]!.weights.map((w) => w.name);
      expect(names).toContain('backbone.conv1.bias');
      expect(names.filter((n) => /\.bn\d?\.|running_/.test(n))).toEqual([]);
      expect(readdirSync(dir).sort()).toEqual(['group1-shard1of1.bin', 'model.json']);

      const loaded = await loadDetector(dir);
      expect(loaded.classNames).toEqual(['one', 'seven', 'nine']);
      expect(maxRelativeDiff(expected, headOutputs(loaded.detector, x))).toBeLessThan(1e-5);
      loaded.dispose();
      expect(tf.memory().numTensors).toBe(tensorsBefore);
      x.dispose();
    });
  }
});

describe('detect', () => {
  it('takes RGB or RGBA pixels, maps boxes to the image and names the classes', async () => {
    const dir = freshDir();
    const detector = await build('atss');
    await exportDetector(detector, { detector: 'atss', options: OPTIONS, classes: CLASSES, inputSize: 64 }, dir);
    detector.dispose();
    const model = await loadDetector(join(dir, 'model.json'));
    const width = 80;
    const height = 40;
    const rgb = Uint8Array.from({ length: width * height * 3 }, (_, i) => (i * 37) % 256);
    const rgba = new Uint8ClampedArray(width * height * 4);
    for (let p = 0; p < width * height; p++) {
      rgba.set(rgb.subarray(p * 3, p * 3 + 3), p * 4);
      rgba[p * 4 + 3] = 255;
    }
    const fromRgb = await model.detect({ width, height, data: rgb });
    const fromRgba = await model.detect({ width, height, data: rgba });
    expect(fromRgb.length).toBeGreaterThan(0);
    expect(fromRgba).toEqual(fromRgb);
    for (const d of fromRgb) {
      expect(d.box[0]).toBeGreaterThanOrEqual(0);
      expect(d.box[2]).toBeLessThanOrEqual(width);
      expect(d.box[3]).toBeLessThanOrEqual(height);
      expect(CLASSES[d.label]).toEqual({ id: d.categoryId, name: d.className });
    }
    // The input is the letterbox of hpf predict: 80x40 -> 64x32 centred, pad rows 0.
    const { input, meta } = model.prepare({ width, height, data: rgb });
    expect(meta).toEqual({ originalSize: { width, height }, scale: [0.8, 0.8], offset: [0, 16], flipped: false });
    expect(Array.from(tf.tidy(() => tf.slice(input, [0, 0, 0, 0], [1, 16, 64, 3]).dataSync())).every((v) => v === 0)).toBe(true);
    input.dispose();
    await expect(model.detect({ width, height, data: rgb.subarray(1) })).rejects.toThrow(/image data has 9599 values for 80 x 40 pixels/);
    model.dispose();
  });
});

describe('loadDetector from picked files', () => {
  it('loads from File objects (a file picker) with the same outputs, and names a missing shard', async () => {
    const dir = freshDir();
    const detector = await build('gfl');
    const x = tf.randomUniform([1, 64, 64, 3], 0, 1, 'float32', 11) as tf.Tensor4D;
    const expected = headOutputs(detector, x);
    await exportDetector(detector, { detector: 'gfl', options: OPTIONS, classes: CLASSES, inputSize: 64 }, dir);
    detector.dispose();
    const files = readdirSync(dir).map((name) => new File([readFileSync(join(dir, name))], name));
    const fromFiles = await loadFromUrlOrFiles(files);
    expect(maxRelativeDiff(expected, headOutputs(fromFiles.detector, x))).toBeLessThan(1e-5);
    fromFiles.dispose();
    await expect(loadFromUrlOrFiles(files.filter((f) => f.name === 'model.json'))).rejects.toThrow(/lack 'group1-shard1of1\.bin' \(pick model\.json and every \.bin file/);
    x.dispose();
  });
});

describe('errors name the file and come before any work', () => {
  it('refuses a non-empty output folder and keeps what is there', async () => {
    const dir = freshDir();
    mkdirSync(dir);
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    const detector = await build('fcos');
    await expect(exportDetector(detector, { detector: 'fcos', options: OPTIONS, classes: CLASSES, inputSize: 64 }, dir)).rejects.toThrow(/is not empty; choose a new folder, nothing was written/);
    expect(readdirSync(dir)).toEqual(['notes.txt']);
    await expect(exportDetector(detector, { detector: 'fcos', options: OPTIONS, classes: CLASSES.slice(0, 2), inputSize: 64 }, freshDir())).rejects.toThrow(/2 class names for a detector of 3 classes/);
    const [, firstVariable] = detector.model.stateDict()[0]!;
    tf.tidy(() => firstVariable.assign(tf.fill(firstVariable.shape, NaN)));
    const nanDir = freshDir();
    await expect(exportDetector(detector, { detector: 'fcos', options: OPTIONS, classes: CLASSES, inputSize: 64 }, nanDir)).rejects.toThrow(/NaN or infinite values cannot be exported: backbone\.conv1\.weight/);
    expect(() => readdirSync(nanDir)).toThrow(/ENOENT/);
    detector.dispose();
  });

  it('a foreign model.json, an unknown detector, a missing or truncated shard', async () => {
    const dir = freshDir();
    const detector = await build('retinanet');
    await exportDetector(detector, { detector: 'retinanet', options: OPTIONS, classes: CLASSES, inputSize: 64 }, dir);
    detector.dispose();
    const jsonPath = join(dir, 'model.json');
    const original = readFileSync(jsonPath, 'utf8');
    const edit = (change: (j: Omit<ModelJson, 'format'> & { format: string }) => void) => {
      const j = JSON.parse(original) as Omit<ModelJson, 'format'> & { format: string };
      change(j);
      writeFileSync(jsonPath, JSON.stringify(j));
    };
    const tensors = tf.memory().numTensors;
    edit((j) => (j.format = 'layers-model'));
    await expect(loadDetector(dir)).rejects.toThrow(/model\.json: format is "layers-model", expected 'hpf-detector'/);
    edit((j) => (j.userDefinedMetadata.hpf.detector = 'yolo'));
    await expect(loadDetector(dir)).rejects.toThrow(/unknown detector 'yolo'; known detectors: atss, retinanet/);
    edit((j) => (j.userDefinedMetadata.hpf.formatVersion = 2));
    await expect(loadDetector(dir)).rejects.toThrow(/format version 2 is not 1/);
    writeFileSync(jsonPath, original);
    truncateSync(join(dir, 'group1-shard1of1.bin'), 100);
    await expect(loadDetector(dir)).rejects.toThrow(/shards \[group1-shard1of1\.bin\] hold 100 bytes, the manifest needs \d+/);
    rmSync(join(dir, 'group1-shard1of1.bin'));
    await expect(loadDetector(dir)).rejects.toThrow(/group1-shard1of1\.bin' does not exist/);
    await expect(loadDetector(freshDir())).rejects.toThrow(/model\.json' does not exist/);
    expect(tf.memory().numTensors).toBe(tensors);
  });
});
