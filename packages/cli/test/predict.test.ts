import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { decodeImage, encodeImage } from '@hpf/data';
import type { Detector } from '@hpf/dense';
import { colourOf, displayGeometry, labelText, textColourOn } from '../src/draw.js';
import { drawBox, listImages, planOutputFiles, predictImages, type InputImage } from '../src/predict.js';

describe('drawBox', () => {
  it('draws a 1 px outline covering pixels [x1, x2) x [y1, y2), clipped to the image', () => {
    const image = { width: 6, height: 5, data: new Uint8Array(6 * 5 * 3) };
    drawBox(image, [1, 1, 4, 4], [255, 0, 0], 1);
    const red = (x: number, y: number): boolean => image.data[(y * 6 + x) * 3] === 255;
    const rows = Array.from({ length: 5 }, (_, y) => Array.from({ length: 6 }, (_, x) => (red(x, y) ? '#' : '.')).join(''));
    expect(rows).toEqual(['......', '.###..', '.#.#..', '.###..', '......']);
    // green and blue channels untouched
    expect(image.data.filter((_, k) => k % 3 !== 0).every((v) => v === 0)).toBe(true);
    const clipped = { width: 4, height: 4, data: new Uint8Array(4 * 4 * 3) };
    drawBox(clipped, [-10, -10, 100, 2], [0, 0, 9], 1);
    const blue = Array.from({ length: 4 }, (_, y) => Array.from({ length: 4 }, (_, x) => (clipped.data[(y * 4 + x) * 3 + 2] === 9 ? '#' : '.')).join(''));
    expect(blue).toEqual(['####', '####', '....', '....']);
  });
});

describe('hpf predict output files', () => {
  const img = (id: number, dir: string, fileName: string): InputImage => ({ id, fileName, path: join(dir, fileName) });
  it('x.png and x.jpg get two names; sub-folders are kept', () => {
    const files = planOutputFiles([img(1, '/d', 'x.png'), img(2, '/d', 'x.jpg'), img(3, '/d', 'x.JPG'), img(4, '/d', 'sub/y.jpeg')], '/o');
    expect(files).toEqual(['/o/images/x.png', '/o/images/x_jpg.png', '/o/images/x_jpg_2.png', '/o/images/sub/y.png']);
  });
  it('refuses an --out whose drawn copy would replace an input image, naming it', () => {
    expect(() => planOutputFiles([img(5, '/data/images', 'a.png')], '/data')).toThrow('the drawn copy of image id 5 would overwrite the input /data/images/a.png');
  });
});

describe('hpf predict images', () => {
  it('skips an undecodable image with a warning and draws the rest legibly', async () => {
    await tf.setBackend('cpu');
    const dir = mkdtempSync(join(tmpdir(), 'hpf-predict-'));
    const good = { width: 40, height: 30, data: new Uint8Array(40 * 30 * 3).fill(128) };
    writeFileSync(join(dir, 'a.png'), encodeImage(good, 'a.png'));
    writeFileSync(join(dir, 'b.jpg'), 'not an image');
    const before = readFileSync(join(dir, 'a.png'));
    // A stand-in detector: one box on every image, label 1, score 0.9 (and one under --conf).
    const detector = {
      predict: async (batch: tf.Tensor4D) => Array.from({ length: batch.shape[0] }, () => [
        { box: [4, 6, 24, 26], label: 1, score: 0.9 },
        { box: [0, 0, 5, 5], label: 0, score: 0.1 },
      ]),
    } as unknown as Detector;
    const warnings: string[] = [];
    const out = join(dir, 'out');
    const result = await predictImages(detector, listImages(dir), { inputSize: 32, batchSize: 4, labelToCategoryId: [3, 8], classNames: ['cat', 'dog'], drawThreshold: 0.3, outDir: out, warn: (m) => warnings.push(m) });
    expect(result.skipped.map((s) => s.id)).toEqual([2]);
    expect(warnings[0]).toMatch(/^warning: skipped image id 2: .*b\.jpg: cannot decode image/);
    expect(result.files).toEqual([join(out, 'images', 'a.png')]);
    expect(result.detections).toEqual([
      { image_id: 1, category_id: 8, bbox: [4, 6, 20, 20], score: 0.9 },
      { image_id: 1, category_id: 3, bbox: [0, 0, 5, 5], score: 0.1 },
    ]);
    expect(readFileSync(join(dir, 'a.png')).equals(before)).toBe(true);
    // 40x30 is shown 8x larger (long side under 320 px): 320x240.
    const drawn = decodeImage(readFileSync(result.files[0]!), 'drawn.png');
    expect([drawn.width, drawn.height]).toEqual([320, 240]);
    const at = (x: number, y: number) => Array.from(drawn.data.subarray((y * 320 + x) * 3, (y * 320 + x) * 3 + 3));
    // The box's left edge (x = 4 * 8) in label 1's colour, the middle of the box untouched grey.
    expect(at(32, 150)).toEqual([...colourOf(1)]);
    expect(at(100, 150)).toEqual([128, 128, 128]);
    // The label sits above the box top (y = 48): background in the class colour with white text
    // (the green is dark enough for white to contrast) in it.
    const labelRow = Array.from({ length: 60 }, (_, i) => at(34 + i, 48 - 8));
    expect(labelRow.filter((p) => p.join() === colourOf(1).join()).length).toBeGreaterThan(20);
    expect(textColourOn(colourOf(1))).toBe('#fff');
    expect(labelRow.some((p) => p[0]! > 220 && p[1]! > 220 && p[2]! > 220)).toBe(true);
    // The 0.1 box is under --conf: no label-0 colour anywhere near the corner.
    expect(at(1, 1)).toEqual([128, 128, 128]);
  });
  it('label text and background contrast', () => {
    expect(textColourOn([255, 225, 25])).toBe('#000');
    expect(textColourOn([0, 130, 200])).toBe('#fff');
    expect(labelText(['cat', 'dog'], { box: [0, 0, 1, 1], label: 1, score: 0.876 })).toBe('dog 0.88');
    expect(labelText(['cat'], { box: [0, 0, 1, 1], label: 0 })).toBe('cat');
    expect(displayGeometry(1280, 720)).toEqual({ scale: 1, lineWidth: 4, fontSize: 28 });
  });
});
