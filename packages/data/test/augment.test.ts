import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  adjustBrightness,
  adjustContrast,
  adjustHue,
  adjustSaturation,
  applyColorJitter,
  boxesToOriginal,
  CocoFolderWriter,
  colorJitterRanges,
  createBatchLoader,
  drawColorJitter,
  drawScalePlacement,
  letterboxImage,
  permutation,
  prepareSample,
  readCocoDataset,
  scaledGeometry,
  seededGenerator,
  uniform01,
  type CocoDataset,
  type ColorJitterOptions,
  type PixelImage,
} from '../src/index.js';
import { makeImage, tempDir } from './helpers.js';

interface Fixture {
  width: number;
  height: number;
  input: number[];
  ops: Array<{ op: 'brightness' | 'contrast' | 'saturation' | 'hue'; factor: number; output: number[] }>;
  colorJitter: Array<{ order: number[]; brightness: number | null; contrast: number | null; saturation: number | null; hue: number | null; output: number[] }>;
  ranges: Array<{ args: ColorJitterOptions; ranges: Record<string, [number, number] | null> }>;
}

const fixture = JSON.parse(readFileSync(new URL('./fixtures/photometric.json', import.meta.url), 'utf8')) as Fixture;
const OPS = { brightness: adjustBrightness, contrast: adjustContrast, saturation: adjustSaturation, hue: adjustHue };

function fixtureImage(scale: number): PixelImage {
  return { width: fixture.width, height: fixture.height, data: Float64Array.from(fixture.input, (v) => v * scale) };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>, scale = 1): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]! * scale));
  return m;
}

describe('photometric ops against torchvision (float64)', () => {
  it.each(fixture.ops.map((o) => [o.op, o.factor, o] as const))('%s %d: values in [0, 1] (maxValue 1) and in 0..255', (_name, _factor, o) => {
    const unit = fixtureImage(1);
    OPS[o.op](unit, o.factor, 1);
    expect(maxAbsDiff(unit.data, o.output)).toBeLessThan(1e-12);
    // The pipeline's units: the same op on 0..255 is torchvision's result times 255.
    const bytes = fixtureImage(255);
    OPS[o.op](bytes, o.factor, 255);
    expect(maxAbsDiff(bytes.data, o.output, 255)).toBeLessThan(1e-9);
    if (!(o.op === 'hue' && o.factor === 0)) expect(maxAbsDiff(o.output, fixture.input)).toBeGreaterThan(0.01);
  });

  it('ColorJitter runs its ops in the drawn order (torchvision forward with fixed parameters)', () => {
    const outputs = fixture.colorJitter.map((j) => {
      const img = fixtureImage(1);
      applyColorJitter(img, j, 1);
      expect(maxAbsDiff(img.data, j.output)).toBeLessThan(1e-12);
      return j.output;
    });
    // the first two differ only in the order
    expect(maxAbsDiff(outputs[0]!, outputs[1]!)).toBeGreaterThan(0.01);
  });

  it('the option ranges are ColorJitter\'s; bad options are refused naming the field', () => {
    for (const { args, ranges } of fixture.ranges) expect(colorJitterRanges(args)).toEqual(ranges);
    expect(() => colorJitterRanges({ hue: 0.6 })).toThrow('colorJitter.hue must be <= 0.5 (half a turn), got 0.6');
    expect(() => colorJitterRanges({ contrast: -1 })).toThrow('colorJitter.contrast must be a finite number >= 0, got -1');
    expect(() => colorJitterRanges({ saturation: [1.5, 0.5] })).toThrow('colorJitter.saturation: [min, max] must satisfy 0 <= min <= max <= Infinity, got [1.5,0.5]');
    expect(() => colorJitterRanges({ brightnes: 0.4 } as never)).toThrow('colorJitter: unknown field "brightnes"');
    expect(() => adjustHue(fixtureImage(1), 0.7, 1)).toThrow('adjustHue: shift must be in [-0.5, 0.5], got 0.7');
    expect(() => applyColorJitter(fixtureImage(1), { order: [0, 1, 1, 3], brightness: 1, contrast: 1, saturation: 1, hue: 0 })).toThrow(/order must be a permutation/);
  });

  it('draws: the order is a permutation of 4 and each factor lies in its range; the stream advances the same with ops off', () => {
    const ranges = colorJitterRanges({ brightness: 0.4, contrast: [0.5, 1.5], hue: 0.1 });
    const rng = seededGenerator(4);
    const p = drawColorJitter(ranges, rng);
    // the same draws by hand: Fisher-Yates of 4, then one uniform per op
    const ref = seededGenerator(4);
    const order = Array.from(permutation(4, ref));
    const u = [uniform01(ref), uniform01(ref), uniform01(ref), uniform01(ref)];
    const within = (r: [number, number] | null, v: number) => r![0] + (r![1] - r![0]) * v;
    expect(ranges).toEqual({ brightness: [0.6, 1.4], contrast: [0.5, 1.5], saturation: null, hue: [-0.1, 0.1] });
    expect(p).toEqual({ order, brightness: within(ranges.brightness, u[0]!), contrast: within(ranges.contrast, u[1]!), saturation: null, hue: within(ranges.hue, u[3]!) });
    expect(uniform01(rng)).toBe(uniform01(ref));
  });
});

describe('scale jitter geometry', () => {
  it('hand-worked: 16x8 into 8x8 at scale 1.5 is 12x6, placed at (-2, 1) for position (0.5, 0.5)', () => {
    const g = scaledGeometry(16, 8, 8, 8, { scale: 1.5, position: [0.5, 0.5] });
    // ratio min(8/16, 8/8) * 1.5 = 0.75; x slack -4: -floor(0.5 * 5) = -2; y slack 2: floor(0.5 * 3) = 1
    expect(g).toEqual({ scale: [0.75, 0.75], offset: [-2, 1], resized: { width: 12, height: 6 }, canvas: { width: 8, height: 8 } });
    // the extreme positions: flush left/top, and flush right/bottom (u just below 1)
    expect(scaledGeometry(16, 8, 8, 8, { scale: 1.5, position: [0, 0] }).offset).toEqual([0, 0]);
    expect(scaledGeometry(16, 8, 8, 8, { scale: 1.5, position: [0.999, 0.999] }).offset).toEqual([-4, 2]);
    // scale 0.5: 4x2 inside 8x8, every whole-pixel position reachable
    expect(scaledGeometry(16, 8, 8, 8, { scale: 0.5, position: [0.999, 0.2] })).toMatchObject({ offset: [4, 1], resized: { width: 4, height: 2 } });
    expect(() => scaledGeometry(16, 8, 8, 8, { scale: 0, position: [0, 0] })).toThrow('scaledGeometry: scale must be a finite number > 0, got 0');
    expect(() => scaledGeometry(16, 8, 8, 8, { scale: 1, position: [1, 0] })).toThrow(/position must be \[u, v\] with u, v in \[0, 1\)/);
  });

  let wide: CocoDataset;
  beforeAll(() => {
    const dir = tempDir();
    const w = new CocoFolderWriter(dir, [{ id: 3, name: 'a' }, { id: 5, name: 'b' }, { id: 7, name: 'c' }]);
    w.addImage('wide.png', makeImage(16, 8, (x, y) => [x * 15, y * 30, 100 + x + y]), [
      { bbox: [0, 0, 2, 2], categoryId: 3 }, // lands at x -2..-0.5: cropped away
      { bbox: [4, 2, 8, 4], categoryId: 5 }, // inside
      { bbox: [10, 0, 6, 8], categoryId: 7 }, // crosses the right edge: clipped
      { bbox: [14, 6, 2, 2], categoryId: 3, iscrowd: true }, // crowd, x 8.5..10: cropped away
      { bbox: [0, 4, 4, 4], categoryId: 3, iscrowd: true }, // crowd, clipped
    ]);
    w.finish();
    wide = readCocoDataset(dir);
  });

  it('boxes are scaled, clipped to the input and dropped (with their labels) when nothing is left; pixels are the full resize, cropped', () => {
    const augment = { scale: { scale: 1.5, position: [0.5, 0.5] as [number, number] } };
    const s = prepareSample(wide, 0, { inputSize: 8, flip: false, augment });
    // x' = 0.75 x - 2, y' = 0.75 y + 1 (all exact in binary)
    expect(Array.from(s.target.boxes)).toEqual([1, 2.5, 7, 5.5, 5.5, 1, 8, 7]);
    expect(Array.from(s.target.labels)).toEqual([1, 2]);
    expect(Array.from(s.target.ignoreBoxes)).toEqual([0, 4, 1, 7]);
    expect(s.meta).toMatchObject({ scale: [0.75, 0.75], offset: [-2, 1], flipped: false, augmentation: augment });
    // boxesToOriginal undoes the jittered geometry (clipped to the image)
    expect(Array.from(boxesToOriginal(s.target.boxes, s.meta))).toEqual([4, 2, 12, 6, 10, 0, 40 / 3, 8].map(Math.fround));
    const full = letterboxImage(makeImage(16, 8, (x, y) => [x * 15, y * 30, 100 + x + y]), 12, 6).image;
    for (let y = 0; y < 8; y++) {
      for (let x = 0; x < 8; x++) {
        for (let c = 0; c < 3; c++) {
          const got = s.pixels[(y * 8 + x) * 3 + c]!;
          const inside = y >= 1 && y < 7;
          expect(got).toBe(inside ? Math.fround(full.data[((y - 1) * 12 + x + 2) * 3 + c]! / 255) : 0);
        }
      }
    }
  });

  it('flip then scale jitter: boxes mirror in the original, then scale and crop', () => {
    const s = prepareSample(wide, 0, { inputSize: 8, flip: true, augment: { scale: { scale: 1.5, position: [0.5, 0.5] } } });
    // mirrored (x -> 16 - x): [0,0,2,2] -> [14,0,16,2], at x 8.5..10: gone; [4,2,12,6] stays; [10,0,16,8] -> [0,0,6,8] -> [-2,1,2.5,7], clipped
    expect(Array.from(s.target.boxes)).toEqual([1, 2.5, 7, 5.5, 0, 1, 2.5, 7]);
    expect(Array.from(s.target.labels)).toEqual([1, 2]);
  });
});

describe('augmented batches', () => {
  let many: CocoDataset;
  beforeAll(async () => {
    await tf.setBackend('cpu');
    const dir = tempDir();
    const w = new CocoFolderWriter(dir, [{ id: 1, name: 'a' }]);
    for (let i = 0; i < 10; i++) {
      w.addImage(`${i}.png`, makeImage(12 + i, 9, (x, y) => [(x * 20 + i * 7) % 256, (y * 25) % 256, (i * 30 + x * y) % 256]), [{ bbox: [1, 1, 5 + i / 2, 6], categoryId: 1 }]);
    }
    w.finish();
    many = readCocoDataset(dir);
  });
  const aug = { batchSize: 3, inputSize: 16, seed: 9, scaleJitter: [0.5, 1.5] as [number, number], colorJitter: { brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1 } };

  it('the plan draws order and flips exactly as without augmentation, then the augmentations, all from (seed, epoch)', () => {
    const plain = createBatchLoader(many, { batchSize: 3, inputSize: 16, seed: 9 }).plan(4);
    expect(plain.every((p) => !('augment' in p))).toBe(true);
    const plans = createBatchLoader(many, aug).plan(4);
    expect(plans.map((p) => ({ indices: p.indices, flips: p.flips }))).toEqual(plain);
    // by hand: permutation, one flip draw per position, then per position scale (3 draws) and colour draws
    const rng = seededGenerator(9, 4);
    permutation(10, rng);
    for (let i = 0; i < 10; i++) uniform01(rng);
    const ranges = colorJitterRanges(aug.colorJitter);
    const expected = Array.from({ length: 10 }, () => ({ scale: drawScalePlacement([0.5, 1.5], rng), color: drawColorJitter(ranges, rng) }));
    expect(plans.flatMap((p) => p.augment!)).toEqual(expected);
    const scales = expected.map((a) => a.scale.scale);
    expect(Math.min(...scales)).toBeLessThan(0.9);
    expect(Math.max(...scales)).toBeGreaterThan(1.1);
    // a loader that never planned epochs 0..3 plans epoch 4 the same
    expect(createBatchLoader(many, aug).plan(4)).toEqual(plans);
    // only the colour jitter on: the scale draws are absent
    expect(createBatchLoader(many, { ...aug, scaleJitter: undefined }).plan(4)[0]!.augment![0]).not.toHaveProperty('scale');
  });

  it('same seed and iteration give the identical batch; another iteration of the same image gives another', () => {
    const a = createBatchLoader(many, aug);
    const b = createBatchLoader(many, aug);
    const first = a.load(a.plan(2)[1]!);
    const again = b.load(b.plan(2)[1]!);
    expect(Array.from(again.images.dataSync())).toEqual(Array.from(first.images.dataSync()));
    expect(again.targets).toEqual(first.targets);
    expect(again.meta).toEqual(first.meta);
    // the same image in another epoch: other draws, other pixels
    const image = first.meta[0]!.imageId;
    const index = many.images.findIndex((im) => im.id === image);
    const other = a.plan(3).find((p) => p.indices.includes(index))!;
    const batch = a.load(other);
    const k = batch.meta.findIndex((m) => m.imageId === image);
    const plane = 16 * 16 * 3;
    const x = first.images.dataSync().subarray(0, plane);
    const y = batch.images.dataSync().subarray(k * plane, (k + 1) * plane);
    expect(maxAbsDiff(x, y)).toBeGreaterThan(0.05);
    expect(batch.meta[k]!.augmentation).not.toEqual(first.meta[0]!.augmentation);
    tf.dispose([first.images, again.images, batch.images]);
  });

  it('boxes stay inside the input, values stay in 0..1 and an epoch leaks no tensors', () => {
    const before = tf.memory().numTensors;
    const loader = createBatchLoader(many, aug);
    let boxes = 0;
    for (const e of [0, 1, 2]) {
      for (const batch of loader.epoch(e)) {
        const values = batch.images.dataSync();
        expect(values.every((v) => v >= 0 && v <= 1)).toBe(true);
        for (const t of batch.targets) {
          expect(t.boxes.length).toBe(4 * t.labels.length);
          for (let i = 0; i < t.boxes.length; i += 4) {
            expect(t.boxes[i]!).toBeGreaterThanOrEqual(0);
            expect(t.boxes[i + 2]!).toBeLessThanOrEqual(16);
            expect(t.boxes[i + 2]! > t.boxes[i]! && t.boxes[i + 3]! > t.boxes[i + 1]!).toBe(true);
          }
          boxes += t.labels.length;
        }
        batch.images.dispose();
      }
    }
    expect(boxes).toBeGreaterThan(20);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('bad augmentation options are refused by name before any image is read', () => {
    expect(() => createBatchLoader(many, { ...aug, scaleJitter: [1.5, 0.5] })).toThrow('createBatchLoader: option scaleJitter must be [min, max] with 0 < min <= max, got [1.5,0.5]');
    expect(() => createBatchLoader(many, { ...aug, scaleJitter: [0, 1] })).toThrow(/option scaleJitter must be \[min, max\] with 0 < min/);
    expect(() => createBatchLoader(many, { ...aug, colorJitter: { hue: 0.9 } })).toThrow('createBatchLoader: option colorJitter.hue must be <= 0.5 (half a turn), got 0.9');
  });
});
