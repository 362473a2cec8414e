/**
 * `hpf predict`: detections for a folder of images (a COCO folder or plain PNG/JPEG files) as a
 * COCO results JSON, plus each image as PNG with its boxes drawn.
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { decodeImage, encodeImage, letterboxImage, readCocoDataset, writeFileAtomic, type RgbImage } from '@hpf/data';
import type { CocoDetection } from '@hpf/eval';
import type { Detector } from '@hpf/fpn';

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

const PALETTE: ReadonlyArray<readonly [number, number, number]> = [
  [230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48],
  [145, 30, 180], [70, 240, 240], [240, 50, 230], [210, 245, 60], [250, 190, 212],
];

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

export interface PredictImagesOptions {
  inputSize: number;
  batchSize: number;
  labelToCategoryId: readonly number[];
  /** Boxes drawn on the PNGs: score at least this (all detections go to the JSON). */
  drawThreshold: number;
  outDir: string;
  onImage?: (done: number, total: number) => void;
}

export async function predictImages(detector: Detector, images: readonly InputImage[], options: PredictImagesOptions): Promise<{ detections: CocoDetection[]; files: string[] }> {
  const out = resolve(options.outDir);
  const detections: CocoDetection[] = [];
  const files: string[] = [];
  for (let start = 0; start < images.length; start += options.batchSize) {
    const chunk = images.slice(start, start + options.batchSize);
    const decoded = chunk.map((img) => decodeImage(readFileSync(img.path), img.fileName));
    const size = options.inputSize;
    const plane = size * size * 3;
    const pixels = new Float32Array(chunk.length * plane);
    const metas = decoded.map((rgb, i) => {
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
      const img = chunk[i]!;
      const canvas = decoded[i]!;
      for (const d of dets) {
        const [x1, y1, x2, y2] = d.box;
        const categoryId = options.labelToCategoryId[d.label];
        if (categoryId === undefined) throw new Error(`detector predicted label ${d.label}, but the checkpoint has ${options.labelToCategoryId.length} categories`);
        detections.push({ image_id: img.id, category_id: categoryId, bbox: [x1, y1, x2 - x1, y2 - y1], score: d.score });
        if (d.score >= options.drawThreshold) drawBox(canvas, d.box, PALETTE[d.label % PALETTE.length]!);
      }
      const file = join(out, 'images', `${basename(img.fileName, extname(img.fileName))}.png`);
      writeFileAtomic(file, encodeImage(canvas, file));
      files.push(file);
    });
    options.onImage?.(Math.min(start + options.batchSize, images.length), images.length);
  }
  return { detections, files };
}
