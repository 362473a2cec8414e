/**
 * `hpf predict`: detections for a folder of images (a COCO folder or plain PNG/JPEG files) as a
 * COCO results JSON, plus each image as PNG with its boxes drawn.
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { decodeImage, letterboxImage, readCocoDataset, writeFileAtomic, type RgbImage } from '@hpf/data';
import type { CocoDetection } from '@hpf/eval';
import type { Detector } from '@hpf/dense';
import { drawDetectionsPng, type DrawnBox } from './draw.js';

export interface InputImage {
  id: number;
  fileName: string;
  path: string;
}

/** Images of a COCO folder (ids from instances.json) or every .png/.jpg/.jpeg in a folder (ids 1..). */
export function listImages(dir: string): InputImage[] {
  const root = resolve(dir);
  if (!existsSync(root)) throw new Error(`--images: ${root} does not exist`);
  if (existsSync(join(root, 'instances.json'))) {
    return readCocoDataset(root).images.map((i) => ({ id: i.id, fileName: i.fileName, path: i.path }));
  }
  const files = readdirSync(root).filter((f) => ['.png', '.jpg', '.jpeg'].includes(extname(f).toLowerCase())).sort();
  if (files.length === 0) throw new Error(`--images: ${root} has no instances.json and no .png/.jpg images`);
  return files.map((f, i) => ({ id: i + 1, fileName: f, path: join(root, f) }));
}

/** Draws an axis-aligned rectangle outline of `thickness` pixels into an RGB image, in place. */
export function drawBox(image: RgbImage, box: readonly number[], color: readonly [number, number, number], thickness = 2): void {
  const { width, height, data } = image;
  const clampX = (v: number): number => Math.min(Math.max(Math.round(v), 0), width - 1);
  const clampY = (v: number): number => Math.min(Math.max(Math.round(v), 0), height - 1);
  const x1 = clampX(box[0]!), y1 = clampY(box[1]!), x2 = clampX(box[2]! - 1), y2 = clampY(box[3]! - 1);
  const put = (x: number, y: number): void => {
    const k = (y * width + x) * 3;
    data[k] = color[0];
    data[k + 1] = color[1];
    data[k + 2] = color[2];
  };
  for (let t = 0; t < thickness; t++) {
    for (let x = x1; x <= x2; x++) {
      put(x, Math.min(y1 + t, y2));
      put(x, Math.max(y2 - t, y1));
    }
    for (let y = y1; y <= y2; y++) {
      put(Math.min(x1 + t, x2), y);
      put(Math.max(x2 - t, x1), y);
    }
  }
}

/**
 * Where each drawn image goes: `<out>/images/<path of the input with its extension -> .png>`, made
 * unique when two inputs share a stem (`x.png` and `x.jpg` give `x.png` and `x_jpg.png`). Throws,
 * before any work, if an output would replace one of the input images.
 */
export function planOutputFiles(images: readonly InputImage[], outDir: string): string[] {
  const dir = join(resolve(outDir), 'images');
  const inputs = new Set(images.map((i) => resolve(i.path)));
  const taken = new Set<string>();
  return images.map((img) => {
    const ext = extname(img.fileName);
    const stem = img.fileName.slice(0, img.fileName.length - ext.length);
    const candidates = [`${stem}.png`, `${stem}_${ext.slice(1).toLowerCase()}.png`];
    for (let n = 2; !candidates.some((c) => !taken.has(resolve(dir, c).toLowerCase())); n++) candidates.push(`${stem}_${ext.slice(1).toLowerCase()}_${n}.png`);
    const file = resolve(dir, candidates.find((c) => !taken.has(resolve(dir, c).toLowerCase()))!);
    taken.add(file.toLowerCase());
    if (inputs.has(file)) throw new Error(`--out ${resolve(outDir)}: the drawn copy of image id ${img.id} would overwrite the input ${file}; choose an --out outside the images folder`);
    return file;
  });
}

export interface PredictImagesOptions {
  inputSize: number;
  batchSize: number;
  labelToCategoryId: readonly number[];
  /** Class name per contiguous label (labels on the drawn images). */
  classNames: readonly string[];
  /** Boxes drawn on the PNGs: score at least this (all detections go to the JSON). */
  drawThreshold: number;
  outDir: string;
  onImage?: (done: number, total: number) => void;
  /** An image that cannot be read or decoded is skipped with this message (default: stderr). */
  warn?: (message: string) => void;
}

export interface PredictImagesResult {
  /** COCO results format: image_id, category_id, bbox [x, y, w, h] in original pixels, score. */
  detections: CocoDetection[];
  /** Drawn PNGs, one per decoded image. */
  files: string[];
  /** Images skipped because they could not be decoded, with the reason. */
  skipped: Array<{ id: number; path: string; reason: string }>;
}

export async function predictImages(detector: Detector, images: readonly InputImage[], options: PredictImagesOptions): Promise<PredictImagesResult> {
  const outFiles = planOutputFiles(images, options.outDir);
  const warn = options.warn ?? ((m: string) => process.stderr.write(`${m}\n`));
  const detections: CocoDetection[] = [];
  const files: string[] = [];
  const skipped: PredictImagesResult['skipped'] = [];
  for (let start = 0; start < images.length; start += options.batchSize) {
    const chunk: Array<{ img: InputImage; out: string; rgb: RgbImage }> = [];
    images.slice(start, start + options.batchSize).forEach((img, i) => {
      try {
        chunk.push({ img, out: outFiles[start + i]!, rgb: decodeImage(readFileSync(img.path), img.path) });
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        skipped.push({ id: img.id, path: img.path, reason });
        warn(`warning: skipped image id ${img.id}: ${reason}`);
      }
    });
    if (chunk.length > 0) {
      const size = options.inputSize;
      const plane = size * size * 3;
      const pixels = new Float32Array(chunk.length * plane);
      const metas = chunk.map(({ rgb }, i) => {
        const { image, geometry } = letterboxImage(rgb, size, size, 0);
        for (let k = 0; k < plane; k++) pixels[i * plane + k] = image.data[k]! / 255;
        return { originalSize: { width: rgb.width, height: rgb.height }, scale: geometry.scale, offset: geometry.offset, flipped: false };
      });
      const batch = tf.tensor4d(pixels, [chunk.length, size, size, 3]);
      let perImage;
      try {
        perImage = await detector.predict(batch, metas);
      } finally {
        batch.dispose();
      }
      perImage.forEach((dets, i) => {
        const { img, out, rgb } = chunk[i]!;
        const drawn: DrawnBox[] = [];
        for (const d of dets) {
          const [x1, y1, x2, y2] = d.box;
          const categoryId = options.labelToCategoryId[d.label];
          if (categoryId === undefined) throw new Error(`detector predicted label ${d.label}, but the checkpoint has ${options.labelToCategoryId.length} categories`);
          detections.push({ image_id: img.id, category_id: categoryId, bbox: [x1, y1, x2 - x1, y2 - y1], score: d.score });
          if (d.score >= options.drawThreshold) drawn.push({ box: d.box, label: d.label, score: d.score });
        }
        // Lowest score first, so the most confident boxes and labels are drawn on top.
        drawn.sort((a, b) => a.score! - b.score!);
        writeFileAtomic(out, drawDetectionsPng(rgb, drawn, options.classNames));
        files.push(out);
      });
    }
    options.onImage?.(Math.min(start + options.batchSize, images.length), images.length);
  }
  return { detections, files, skipped };
}
