import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RgbImage } from '../src/index.js';

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'hpf-data-'));
}

/** An RGB image whose pixel (x, y) is `f(x, y)`. */
export function makeImage(width: number, height: number, f: (x: number, y: number) => [number, number, number]): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.set(f(x, y), (y * width + x) * 3);
  }
  return { width, height, data };
}

export function writeJson(dir: string, value: unknown): string {
  const file = join(dir, 'instances.json');
  writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
  return file;
}
