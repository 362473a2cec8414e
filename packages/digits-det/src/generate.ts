import { join } from 'node:path';
import { CocoFolderWriter, type CocoCategory, type NewAnnotation, type RgbImage } from '@hpf/data';
import { digitGlyph, sampleRange, type DigitGlyph, type Split } from './mnist-digits.js';
import type { DigitsDetPreset } from './presets.js';
import { Random } from './random.js';
import { blend, contrastingColour, meanColour, paintBackground, paintStroke, resizeAlpha, type Canvas, type Rgb } from './raster.js';

/** A pixel belongs to a digit's ink where the digit's resized stroke coverage is at least this. */
export const INK_THRESHOLD = 0.3;
/** A digit is annotated iff at least this fraction of its ink is visible (in the image, not covered). */
export const VISIBLE_FRACTION = 0.5;
/** Occluders (patches, strokes drawn over digits) hide a pixel of ink where their coverage reaches this. */
const OCCLUSION_COVERAGE = 0.5;
const HIDDEN = -2;
const BACKGROUND = -1;

/** COCO categories: ids 1..10 for digits 0..9 (COCO ids start at 1), so label = digit. */
export const DIGIT_CATEGORIES: CocoCategory[] = Array.from({ length: 10 }, (_, d) => ({ id: d + 1, name: String(d), supercategory: 'digit' }));

export type ObjectKind = 'digit' | 'border-partial' | 'occluded-partial';

/** A digit drawn into an image, annotated or not. */
export interface DrawnDigit {
  kind: ObjectKind;
  digit: number;
  /** The mnist sample it was drawn from. */
  sample: number;
  /** Integer top-left of the resized glyph patch (may be outside the image) and its size. */
  patch: { x: number; y: number; width: number; height: number };
  /** Ink pixels of the whole patch, and how many of them are visible in the image. */
  inkPixels: number;
  visiblePixels: number;
  /** Tight COCO box `[x, y, w, h]` around the visible ink, or null when nothing is visible. */
  bbox: [number, number, number, number] | null;
  annotated: boolean;
}

export interface GeneratedImage {
  image: RgbImage;
  objects: DrawnDigit[];
  /** Per pixel: index into `objects` of the digit whose visible ink it is, -1 background, -2 hidden by an occluder. */
  owner: Int16Array;
}

interface Placement {
  glyph: DigitGlyph;
  alpha: Float32Array;
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Draws one image. Layers, bottom to top: textured background, distractor strokes, annotated
 * digits, partial digits (cropped by the border or covered by an opaque patch), distractor strokes
 * over everything. Then each digit's visible ink decides its label and its tight box.
 */
export function generateImage(rng: Random, preset: DigitsDetPreset, split: Split): GeneratedImage {
  const size = preset.imageSize;
  const canvas = paintBackground(rng, size);
  const owner = new Int16Array(size * size).fill(BACKGROUND);
  const hide = (x: number, y: number, coverage: number) => {
    if (coverage >= OCCLUSION_COVERAGE && owner[y * size + x]! >= 0) owner[y * size + x] = HIDDEN;
  };
  const strokesUnder = rng.int(0, preset.maxStrokesUnder);
  for (let i = 0; i < strokesUnder; i++) paintStroke(rng, canvas, rng.colour());

  const objects: DrawnDigit[] = [];
  const placed: Placement[] = [];
  const wanted = rng.int(preset.minDigits, preset.maxDigits);
  for (let i = 0; i < wanted; i++) {
    const glyph = pickGlyph(rng, split);
    const p = sizeGlyph(rng, glyph, inkHeight(rng, preset), size, preset.minInkSide);
    if (!placeInside(rng, p, placed, size)) continue;
    placed.push(p);
    objects.push(drawDigit(rng, canvas, owner, p, objects.length, 'digit'));
  }

  const partials = rng.int(0, preset.maxPartials);
  for (let i = 0; i < partials; i++) {
    const glyph = pickGlyph(rng, split);
    const p = sizeGlyph(rng, glyph, Math.max(12, inkHeight(rng, preset)), size);
    if (rng.chance(0.5)) {
      placeAcrossBorder(rng, p, size);
      objects.push(drawDigit(rng, canvas, owner, p, objects.length, 'border-partial'));
    } else {
      if (!placeInside(rng, p, placed, size)) continue;
      const drawn = drawDigit(rng, canvas, owner, p, objects.length, 'occluded-partial');
      coverPatch(rng, canvas, p, hide);
      objects.push(drawn);
    }
  }

  const strokesOver = rng.int(0, preset.maxStrokesOver);
  for (let i = 0; i < strokesOver; i++) paintStroke(rng, canvas, rng.colour(), hide);

  measureVisibility(objects, owner, size);
  return { image: toRgb(canvas), objects, owner };
}

function pickGlyph(rng: Random, split: Split): DigitGlyph {
  const digit = rng.int(0, 9);
  const [from, to] = sampleRange(digit, split);
  return digitGlyph(digit, rng.int(from, to - 1));
}

/** Ink height: log-uniform between the preset's bounds with u^1.5, so small digits are commoner. */
function inkHeight(rng: Random, preset: DigitsDetPreset): number {
  const lo = Math.log(preset.minInkHeight);
  const hi = Math.log(preset.maxInkHeight);
  return Math.exp(lo + (hi - lo) * rng.uniform() ** 1.5);
}

/** The glyph scaled to ink `height` with an aspect jitter; both ink sides at least `minSide` (same draws either way). */
function sizeGlyph(rng: Random, glyph: DigitGlyph, height: number, imageSize: number, minSide = 0): Placement {
  const jitter = rng.uniform(0.8, 1.25);
  const fy = Math.max(height / glyph.height, minSide / glyph.height, minSide / (glyph.width * jitter));
  const fx = fy * jitter;
  const width = Math.min(imageSize, Math.max(1, Math.round(glyph.width * fx)));
  const h = Math.min(imageSize, Math.max(1, Math.round(glyph.height * fy)));
  return { glyph, alpha: resizeAlpha(glyph.alpha, glyph.width, glyph.height, width, h), x: 0, y: 0, width, height: h };
}

/** Random position fully inside the image overlapping no earlier digit by more than 20% of the smaller one. */
function placeInside(rng: Random, p: Placement, placed: Placement[], size: number): boolean {
  for (let attempt = 0; attempt < 25; attempt++) {
    p.x = rng.int(0, size - p.width);
    p.y = rng.int(0, size - p.height);
    const clash = placed.some((q) => {
      const iw = Math.min(p.x + p.width, q.x + q.width) - Math.max(p.x, q.x);
      const ih = Math.min(p.y + p.height, q.y + q.height) - Math.max(p.y, q.y);
      return iw > 0 && ih > 0 && iw * ih > 0.2 * Math.min(p.width * p.height, q.width * q.height);
    });
    if (!clash) return true;
  }
  return false;
}

/** Puts 15-45% of the patch inside the image across a random side. */
function placeAcrossBorder(rng: Random, p: Placement, size: number): void {
  const inside = rng.uniform(0.15, 0.45);
  const side = rng.int(0, 3);
  if (side < 2) {
    p.y = rng.int(0, size - p.height);
    const shown = Math.max(1, Math.round(p.width * inside));
    p.x = side === 0 ? shown - p.width : size - shown;
  } else {
    p.x = rng.int(0, size - p.width);
    const shown = Math.max(1, Math.round(p.height * inside));
    p.y = side === 2 ? shown - p.height : size - shown;
  }
}

function drawDigit(rng: Random, canvas: Canvas, owner: Int16Array, p: Placement, index: number, kind: ObjectKind): DrawnDigit {
  const size = canvas.size;
  const colour = contrastingColour(rng, meanColour(canvas, p.x, p.y, p.x + p.width, p.y + p.height), 70);
  const opacity = rng.uniform(0.85, 1);
  let inkPixels = 0;
  for (let j = 0; j < p.height; j++) {
    for (let i = 0; i < p.width; i++) {
      const a = p.alpha[j * p.width + i]!;
      if (a >= INK_THRESHOLD) inkPixels++;
      const x = p.x + i;
      const y = p.y + j;
      if (a <= 0 || x < 0 || y < 0 || x >= size || y >= size) continue;
      blend(canvas, x, y, colour, Math.min(1, a) * opacity);
      if (a >= INK_THRESHOLD) owner[y * size + x] = index;
    }
  }
  return {
    kind,
    digit: p.glyph.digit,
    sample: p.glyph.sample,
    patch: { x: p.x, y: p.y, width: p.width, height: p.height },
    inkPixels,
    visiblePixels: 0,
    bbox: null,
    annotated: false,
  };
}

/** An opaque patch over 55-90% of the digit's patch from one side: most of the digit is hidden. */
function coverPatch(rng: Random, canvas: Canvas, p: Placement, hide: (x: number, y: number, c: number) => void): void {
  const fraction = rng.uniform(0.55, 0.9);
  const side = rng.int(0, 3);
  let { x, y, width, height } = p;
  if (side === 0 || side === 1) {
    const kept = Math.ceil(width * fraction);
    if (side === 1) x += width - kept;
    width = kept;
  } else {
    const kept = Math.ceil(height * fraction);
    if (side === 3) y += height - kept;
    height = kept;
  }
  // Pad the patch a little so it reads as an object lying on top, not a clean cut.
  const pad = rng.int(1, 3);
  const colour: Rgb = rng.chance(0.5) ? meanColour(canvas, x - pad, y - pad, x + width + pad, y + height + pad) : rng.colour();
  for (let yy = Math.max(0, y - pad); yy < Math.min(canvas.size, y + height + pad); yy++) {
    for (let xx = Math.max(0, x - pad); xx < Math.min(canvas.size, x + width + pad); xx++) {
      blend(canvas, xx, yy, colour, 1);
      hide(xx, yy, 1);
    }
  }
}

function measureVisibility(objects: DrawnDigit[], owner: Int16Array, size: number): void {
  const boxes = objects.map(() => [Infinity, Infinity, -Infinity, -Infinity]);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const k = owner[y * size + x]!;
      if (k < 0) continue;
      const o = objects[k]!;
      const b = boxes[k]!;
      o.visiblePixels++;
      b[0] = Math.min(b[0]!, x);
      b[1] = Math.min(b[1]!, y);
      b[2] = Math.max(b[2]!, x + 1);
      b[3] = Math.max(b[3]!, y + 1);
    }
  }
  objects.forEach((o, k) => {
    const b = boxes[k]!;
    if (o.visiblePixels > 0) o.bbox = [b[0]!, b[1]!, b[2]! - b[0]!, b[3]! - b[1]!];
    o.annotated = o.visiblePixels > 0 && o.visiblePixels >= VISIBLE_FRACTION * o.inkPixels;
  });
}

function toRgb(canvas: Canvas): RgbImage {
  const data = new Uint8Array(canvas.data.length);
  for (let i = 0; i < data.length; i++) data[i] = Math.min(255, Math.max(0, Math.round(canvas.data[i]!)));
  return { width: canvas.size, height: canvas.size, data };
}

/** Generator streams: train and val never share draws. */
const SPLIT_STREAM: Record<Split, number> = { train: 0, val: 1 };

/** The images of one split, in order: a pure function of (preset, split, seed). */
export function* generateSplit(preset: DigitsDetPreset, split: Split, seed: number, count = preset[split]): Generator<GeneratedImage> {
  const rng = new Random(seed, SPLIT_STREAM[split]);
  for (let i = 0; i < count; i++) yield generateImage(rng, preset, split);
}

export interface WriteOptions {
  preset: DigitsDetPreset;
  seed: number;
  /** Override the preset's image counts. */
  train?: number;
  val?: number;
}

export interface SplitStats {
  images: number;
  annotations: number;
  /** Drawn digits left unannotated (hard negatives: mostly hidden or outside the image). */
  unannotated: number;
  annotationsPerDigit: number[];
}

/** Writes `outDir/train` and `outDir/val` as COCO folders (PNG images). */
export function writeDigitsDet(outDir: string, options: WriteOptions): Record<Split, SplitStats> {
  for (const key of Object.keys(options)) {
    if (!['preset', 'seed', 'train', 'val'].includes(key)) throw new Error(`writeDigitsDet: unknown option "${key}"`);
  }
  const { preset, seed } = options;
  if (!Number.isInteger(seed)) throw new Error(`writeDigitsDet: option seed must be an integer, got ${seed}`);
  const stats = {} as Record<Split, SplitStats>;
  for (const split of ['train', 'val'] as const) {
    const count = options[split] ?? preset[split];
    if (!Number.isInteger(count) || count < 0) throw new Error(`writeDigitsDet: option ${split} must be a non-negative integer, got ${count}`);
    const info = { description: `digits-det ${preset.name} ${split}`, preset: preset.name, split, seed, imageSize: preset.imageSize, visibleFraction: VISIBLE_FRACTION, inkThreshold: INK_THRESHOLD };
    const writer = new CocoFolderWriter(join(outDir, split), DIGIT_CATEGORIES, { info });
    const s: SplitStats = { images: 0, annotations: 0, unannotated: 0, annotationsPerDigit: new Array<number>(10).fill(0) };
    let index = 0;
    for (const g of generateSplit(preset, split, seed, count)) {
      const annotations: NewAnnotation[] = [];
      for (const o of g.objects) {
        if (o.annotated && o.bbox) {
          annotations.push({ bbox: o.bbox, categoryId: o.digit + 1 });
          s.annotationsPerDigit[o.digit]!++;
        } else s.unannotated++;
      }
      writer.addImage(`${String(index++).padStart(6, '0')}.png`, g.image, annotations);
      s.images++;
      s.annotations += annotations.length;
    }
    writer.finish();
    stats[split] = s;
  }
  return stats;
}
