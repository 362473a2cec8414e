import type { RgbImage } from './image.js';

export type { RgbImage };

/** Where a letterboxed image sits in its canvas: `canvas = original * scale + offset`, per axis. */
export interface LetterboxGeometry {
  /** `[sx, sy]`: resized width / original width and resized height / original height. */
  scale: [number, number];
  /** `[ox, oy]`: left and top padding in canvas pixels. */
  offset: [number, number];
  /** Size of the resized image inside the canvas (before padding). */
  resized: { width: number; height: number };
  canvas: { width: number; height: number };
}

/** A float image (values in the units of the source, 0..255), interleaved RGB. */
export interface FloatRgbImage {
  width: number;
  height: number;
  data: Float32Array;
}

/**
 * Geometry of a keep-ratio resize into `canvasWidth x canvasHeight`: the ratio is
 * `min(canvasW / w, canvasH / h)`, the resized size is rounded to whole pixels, and the padding is
 * split evenly (left/top get the smaller half). Because of the rounding, the per-axis scales are
 * `resizedW / w` and `resizedH / h`, which are what map boxes exactly.
 */
export function letterboxGeometry(width: number, height: number, canvasWidth: number, canvasHeight: number): LetterboxGeometry {
  for (const [name, v] of [['width', width], ['height', height], ['canvasWidth', canvasWidth], ['canvasHeight', canvasHeight]] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new Error(`letterbox: ${name} must be a positive integer, got ${v}`);
  }
  const ratio = Math.min(canvasWidth / width, canvasHeight / height);
  const rw = Math.min(canvasWidth, Math.max(1, Math.round(width * ratio)));
  const rh = Math.min(canvasHeight, Math.max(1, Math.round(height * ratio)));
  return {
    scale: [rw / width, rh / height],
    offset: [Math.floor((canvasWidth - rw) / 2), Math.floor((canvasHeight - rh) / 2)],
    resized: { width: rw, height: rh },
    canvas: { width: canvasWidth, height: canvasHeight },
  };
}

/** Random resize of a letterbox (scale jitter): how much larger, and where in the canvas. */
export interface ScalePlacement {
  /** Factor on the letterbox size (1: the image just fits the canvas; > 1 it is cropped). */
  scale: number;
  /**
   * `[u, v]` in [0, 1): where the resized image sits along x and y, from flush left/top (0) to
   * flush right/bottom (towards 1), over every whole-pixel position that keeps the canvas covered
   * (larger image) or the image inside (smaller image).
   */
  position: [number, number];
}

/**
 * Geometry of a letterbox resized by `placement.scale` and placed at `placement.position`: the
 * resized size is `round(side * min(canvasW / w, canvasH / h) * scale)` per axis (at least 1), and
 * the offset along an axis with slack `canvas - resized` is `floor(u * (slack + 1))` when the image
 * is smaller (padding) and `-floor(u * (1 - slack))` when it is larger (a crop). The offset can
 * therefore be negative and `resized` larger than the canvas; `canvas = original * scale + offset`
 * still maps boxes, and only the part inside the canvas is drawn.
 */
export function scaledGeometry(width: number, height: number, canvasWidth: number, canvasHeight: number, placement: ScalePlacement): LetterboxGeometry {
  for (const [name, v] of [['width', width], ['height', height], ['canvasWidth', canvasWidth], ['canvasHeight', canvasHeight]] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new Error(`scaledGeometry: ${name} must be a positive integer, got ${v}`);
  }
  const { scale, position } = placement;
  if (!(scale > 0 && Number.isFinite(scale))) throw new Error(`scaledGeometry: scale must be a finite number > 0, got ${scale}`);
  if (!(position?.length === 2 && position.every((u) => u >= 0 && u < 1))) throw new Error(`scaledGeometry: position must be [u, v] with u, v in [0, 1), got ${JSON.stringify(position)}`);
  const ratio = Math.min(canvasWidth / width, canvasHeight / height) * scale;
  const rw = Math.max(1, Math.round(width * ratio));
  const rh = Math.max(1, Math.round(height * ratio));
  // `0 - floor`: an offset of -0 would print and compare as -0.
  const place = (slack: number, u: number): number => (slack >= 0 ? Math.floor(u * (slack + 1)) : 0 - Math.floor(u * (1 - slack)));
  return {
    scale: [rw / width, rh / height],
    offset: [place(canvasWidth - rw, position[0]), place(canvasHeight - rh, position[1])],
    resized: { width: rw, height: rh },
    canvas: { width: canvasWidth, height: canvasHeight },
  };
}

/** The canvas rectangle `[x0, y0) .. [x1, y1)` the resized image covers (where it is not padding). */
export function visibleRegion(geometry: LetterboxGeometry): { x0: number; y0: number; x1: number; y1: number } {
  const [ox, oy] = geometry.offset;
  return {
    x0: Math.max(0, ox),
    y0: Math.max(0, oy),
    x1: Math.min(geometry.canvas.width, ox + geometry.resized.width),
    y1: Math.min(geometry.canvas.height, oy + geometry.resized.height),
  };
}

/**
 * The visible part of the resized image (`visibleRegion(geometry)`, as its own image): bilinear
 * with half-pixel centres (`align_corners=False`, no antialiasing: the sampling of torch's
 * `interpolate(mode='bilinear')` and tf's `resizeBilinear(halfPixelCenters=true)`). Only the
 * pixels that land in the canvas are computed, so a 2x crop costs what the canvas does.
 */
export function resampleVisible(image: RgbImage, geometry: LetterboxGeometry): FloatRgbImage {
  const { resized, offset } = geometry;
  const region = visibleRegion(geometry);
  const width = Math.max(0, region.x1 - region.x0);
  const height = Math.max(0, region.y1 - region.y0);
  const out = new Float32Array(width * height * 3);
  const xs = samplePositions(image.width, resized.width, region.x0 - offset[0], width);
  const ys = samplePositions(image.height, resized.height, region.y0 - offset[1], height);
  const src = image.data;
  const rowStride = image.width * 3;
  for (let y = 0; y < height; y++) {
    const y0 = ys.lo[y]!;
    const y1 = ys.hi[y]!;
    const wy = ys.frac[y]!;
    const dstRow = y * width * 3;
    for (let x = 0; x < width; x++) {
      const x0 = xs.lo[x]! * 3;
      const x1 = xs.hi[x]! * 3;
      const wx = xs.frac[x]!;
      const a = y0 * rowStride;
      const b = y1 * rowStride;
      const d = dstRow + x * 3;
      for (let c = 0; c < 3; c++) {
        const top = src[a + x0 + c]! + (src[a + x1 + c]! - src[a + x0 + c]!) * wx;
        const bottom = src[b + x0 + c]! + (src[b + x1 + c]! - src[b + x0 + c]!) * wx;
        out[d + c] = top + (bottom - top) * wy;
      }
    }
  }
  return { width, height, data: out };
}

/** A `canvas`-sized image of `padValue` with `visible` (from `resampleVisible`) in its region. */
export function pasteIntoCanvas(visible: FloatRgbImage, geometry: LetterboxGeometry, padValue = 0): FloatRgbImage {
  const { width: cw, height: ch } = geometry.canvas;
  const { x0, y0 } = visibleRegion(geometry);
  const out = new Float32Array(cw * ch * 3).fill(padValue);
  const row = visible.width * 3;
  for (let y = 0; y < visible.height; y++) {
    out.set(visible.data.subarray(y * row, (y + 1) * row), ((y + y0) * cw + x0) * 3);
  }
  return { width: cw, height: ch, data: out };
}

/**
 * Keep-ratio resize into a padded `canvasWidth x canvasHeight` float canvas (`letterboxGeometry`,
 * resampled as `resampleVisible` does). Pixels outside the resized area get `padValue`.
 */
export function letterboxImage(image: RgbImage, canvasWidth: number, canvasHeight: number, padValue = 0): { image: FloatRgbImage; geometry: LetterboxGeometry } {
  const geometry = letterboxGeometry(image.width, image.height, canvasWidth, canvasHeight);
  return { image: pasteIntoCanvas(resampleVisible(image, geometry), geometry, padValue), geometry };
}

/** Source taps of output pixels `from .. from + count - 1` of an `inSize -> outSize` resize. */
function samplePositions(inSize: number, outSize: number, from: number, count: number): { lo: Int32Array; hi: Int32Array; frac: Float32Array } {
  const lo = new Int32Array(count);
  const hi = new Int32Array(count);
  const frac = new Float32Array(count);
  const step = inSize / outSize;
  for (let k = 0; k < count; k++) {
    const s = Math.max(0, (k + from + 0.5) * step - 0.5);
    const i0 = Math.min(Math.floor(s), inSize - 1);
    lo[k] = i0;
    hi[k] = Math.min(i0 + 1, inSize - 1);
    frac[k] = s - i0;
  }
  return { lo, hi, frac };
}

/** Maps `[x1, y1, x2, y2]` boxes (flat, 4 per box) from original to canvas pixels. New array. */
export function boxesToCanvas(boxes: Float32Array, geometry: LetterboxGeometry): Float32Array {
  const [sx, sy] = geometry.scale;
  const [ox, oy] = geometry.offset;
  const out = new Float32Array(boxes.length);
  for (let i = 0; i < boxes.length; i += 4) {
    out[i] = boxes[i]! * sx + ox;
    out[i + 1] = boxes[i + 1]! * sy + oy;
    out[i + 2] = boxes[i + 2]! * sx + ox;
    out[i + 3] = boxes[i + 3]! * sy + oy;
  }
  return out;
}

/**
 * Inverse of `boxesToCanvas`: canvas pixels back to the original image's pixels, clipped to the
 * original image (predictions can spill into the padding). New array.
 */
export function boxesFromCanvas(boxes: Float32Array, geometry: LetterboxGeometry, original: { width: number; height: number }): Float32Array {
  const [sx, sy] = geometry.scale;
  const [ox, oy] = geometry.offset;
  const out = new Float32Array(boxes.length);
  const clip = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
  for (let i = 0; i < boxes.length; i += 4) {
    out[i] = clip((boxes[i]! - ox) / sx, original.width);
    out[i + 1] = clip((boxes[i + 1]! - oy) / sy, original.height);
    out[i + 2] = clip((boxes[i + 2]! - ox) / sx, original.width);
    out[i + 3] = clip((boxes[i + 3]! - oy) / sy, original.height);
  }
  return out;
}

/**
 * Clips `[x1, y1, x2, y2]` boxes to a `width x height` canvas and keeps those with area left
 * (clipped width and height > 0, mmdetection's rule after a crop). `kept` lists the indices of the
 * boxes kept, to select their labels. New array.
 */
export function clipBoxesToCanvas(boxes: Float32Array, width: number, height: number): { boxes: Float32Array; kept: number[] } {
  const kept: number[] = [];
  const out: number[] = [];
  const clip = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
  for (let i = 0; i < boxes.length; i += 4) {
    const x1 = clip(boxes[i]!, width);
    const y1 = clip(boxes[i + 1]!, height);
    const x2 = clip(boxes[i + 2]!, width);
    const y2 = clip(boxes[i + 3]!, height);
    if (x2 > x1 && y2 > y1) {
      kept.push(i / 4);
      out.push(x1, y1, x2, y2);
    }
  }
  return { boxes: Float32Array.from(out), kept };
}

/**
 * Mirrors `[x1, y1, x2, y2]` boxes for an image of `width` pixels flipped left-right. Pixel
 * coordinates are continuous (pixel i spans [i, i+1)), so x maps to `width - x` and x1/x2 swap.
 */
export function flipBoxesHorizontal(boxes: Float32Array, width: number): Float32Array {
  const out = new Float32Array(boxes.length);
  for (let i = 0; i < boxes.length; i += 4) {
    out[i] = width - boxes[i + 2]!;
    out[i + 1] = boxes[i + 1]!;
    out[i + 2] = width - boxes[i]!;
    out[i + 3] = boxes[i + 3]!;
  }
  return out;
}
