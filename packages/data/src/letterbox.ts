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

/**
 * Bilinear resize with half-pixel centres (`align_corners=False`, no antialiasing: the sampling of
 * torch's `interpolate(mode='bilinear')` and tf's `resizeBilinear(halfPixelCenters=true)`), written
 * into a padded float canvas. Pixels outside the resized area get `padValue`.
 */
export function letterboxImage(image: RgbImage, canvasWidth: number, canvasHeight: number, padValue = 0): { image: FloatRgbImage; geometry: LetterboxGeometry } {
  const geometry = letterboxGeometry(image.width, image.height, canvasWidth, canvasHeight);
  const { resized, offset } = geometry;
  const out = new Float32Array(canvasWidth * canvasHeight * 3).fill(padValue);
  const xs = samplePositions(image.width, resized.width);
  const ys = samplePositions(image.height, resized.height);
  const src = image.data;
  const rowStride = image.width * 3;
  for (let y = 0; y < resized.height; y++) {
    const y0 = ys.lo[y]!;
    const y1 = ys.hi[y]!;
    const wy = ys.frac[y]!;
    const dstRow = ((y + offset[1]) * canvasWidth + offset[0]) * 3;
    for (let x = 0; x < resized.width; x++) {
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
  return { image: { width: canvasWidth, height: canvasHeight, data: out }, geometry };
}

function samplePositions(inSize: number, outSize: number): { lo: Int32Array; hi: Int32Array; frac: Float32Array } {
  const lo = new Int32Array(outSize);
  const hi = new Int32Array(outSize);
  const frac = new Float32Array(outSize);
  const step = inSize / outSize;
  for (let i = 0; i < outSize; i++) {
    const s = Math.max(0, (i + 0.5) * step - 0.5);
    const i0 = Math.min(Math.floor(s), inSize - 1);
    lo[i] = i0;
    hi[i] = Math.min(i0 + 1, inSize - 1);
    frac[i] = s - i0;
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
