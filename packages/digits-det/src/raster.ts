import type { Random } from './random.js';

/** A float RGB image in 0..255 units, interleaved, being painted. */
export interface Canvas {
  size: number;
  data: Float32Array;
}

export type Rgb = [number, number, number];

export function luminance(c: Rgb): number {
  return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
}

/** Mixes `colour` into pixel (x, y) with weight `a` in [0, 1]. */
export function blend(canvas: Canvas, x: number, y: number, colour: Rgb, a: number): void {
  const p = (y * canvas.size + x) * 3;
  const d = canvas.data;
  d[p] = d[p]! + (colour[0] - d[p]!) * a;
  d[p + 1] = d[p + 1]! + (colour[1] - d[p + 1]!) * a;
  d[p + 2] = d[p + 2]! + (colour[2] - d[p + 2]!) * a;
}

/**
 * A textured background: a linear gradient or smooth value noise, then soft blotches, then
 * per-pixel grain. All from `rng`, so a seed fixes it.
 */
export function paintBackground(rng: Random, size: number): Canvas {
  const canvas: Canvas = { size, data: new Float32Array(size * size * 3) };
  if (rng.chance(0.5)) paintGradient(rng, canvas);
  else paintValueNoise(rng, canvas);
  const blotches = rng.int(0, 6);
  for (let i = 0; i < blotches; i++) paintBlotch(rng, canvas, rng.colour(), rng.uniform(0.25, 0.8));
  const grain = rng.uniform(0, 14);
  const d = canvas.data;
  for (let p = 0; p < d.length; p++) d[p] = d[p]! + rng.signed() * grain;
  return canvas;
}

function paintGradient(rng: Random, canvas: Canvas): void {
  const a = rng.colour();
  const b = rng.colour();
  const angle = rng.uniform(0, 2 * Math.PI);
  const dx = Math.cos(angle);
  const dy = Math.sin(angle);
  const { size, data } = canvas;
  const span = size * (Math.abs(dx) + Math.abs(dy));
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      // t in [0, 1] along the gradient direction across the image.
      const t = ((x - size / 2) * dx + (y - size / 2) * dy) / span + 0.5;
      const p = (y * size + x) * 3;
      for (let c = 0; c < 3; c++) data[p + c] = a[c]! + (b[c]! - a[c]!) * t;
    }
  }
}

function paintValueNoise(rng: Random, canvas: Canvas): void {
  const { size, data } = canvas;
  const cell = rng.int(Math.max(4, size >> 4), Math.max(8, size >> 1));
  const n = Math.ceil(size / cell) + 2;
  const base = rng.colour();
  const spread = rng.uniform(20, 110);
  const grid = new Float32Array(n * n * 3);
  for (let i = 0; i < n * n; i++) {
    for (let c = 0; c < 3; c++) grid[i * 3 + c] = base[c]! + (rng.uniform() - 0.5) * 2 * spread;
  }
  for (let y = 0; y < size; y++) {
    const gy = y / cell;
    const y0 = Math.floor(gy);
    const ty = smooth(gy - y0);
    for (let x = 0; x < size; x++) {
      const gx = x / cell;
      const x0 = Math.floor(gx);
      const tx = smooth(gx - x0);
      const p = (y * size + x) * 3;
      for (let c = 0; c < 3; c++) {
        const v00 = grid[(y0 * n + x0) * 3 + c]!;
        const v01 = grid[(y0 * n + x0 + 1) * 3 + c]!;
        const v10 = grid[((y0 + 1) * n + x0) * 3 + c]!;
        const v11 = grid[((y0 + 1) * n + x0 + 1) * 3 + c]!;
        const top = v00 + (v01 - v00) * tx;
        const bottom = v10 + (v11 - v10) * tx;
        data[p + c] = top + (bottom - top) * ty;
      }
    }
  }
}

function smooth(t: number): number {
  return t * t * (3 - 2 * t);
}

/** A soft-edged ellipse. */
function paintBlotch(rng: Random, canvas: Canvas, colour: Rgb, opacity: number): void {
  const { size } = canvas;
  const cx = rng.uniform(0, size);
  const cy = rng.uniform(0, size);
  const rx = rng.uniform(size * 0.04, size * 0.3);
  const ry = rng.uniform(size * 0.04, size * 0.3);
  const x0 = Math.max(0, Math.floor(cx - rx - 1));
  const x1 = Math.min(size - 1, Math.ceil(cx + rx + 1));
  const y0 = Math.max(0, Math.floor(cy - ry - 1));
  const y1 = Math.min(size - 1, Math.ceil(cy + ry + 1));
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const r = Math.hypot((x + 0.5 - cx) / rx, (y + 0.5 - cy) / ry);
      if (r < 1) blend(canvas, x, y, colour, opacity * (1 - r * r));
    }
  }
}

/**
 * An antialiased quadratic Bezier stroke (a distractor: scribbles, lines and arcs that share
 * digits' thickness and colours but are no digit). Calls `mark(x, y, coverage)` for every pixel it
 * paints so callers can track occlusion.
 */
export function paintStroke(rng: Random, canvas: Canvas, colour: Rgb, mark?: (x: number, y: number, coverage: number) => void): void {
  const { size } = canvas;
  const length = rng.uniform(size * 0.1, size * 0.6);
  const x0 = rng.uniform(0, size);
  const y0 = rng.uniform(0, size);
  const angle = rng.uniform(0, 2 * Math.PI);
  const x2 = x0 + Math.cos(angle) * length;
  const y2 = y0 + Math.sin(angle) * length;
  const bend = rng.uniform(-0.6, 0.6) * length;
  const x1 = (x0 + x2) / 2 - Math.sin(angle) * bend;
  const y1 = (y0 + y2) / 2 + Math.cos(angle) * bend;
  const radius = rng.uniform(0.6, Math.max(1, size / 64));
  const coverage = new Map<number, number>();
  const steps = Math.ceil(length * 2) + 1;
  for (let i = 0; i <= steps; i++) {
    const t = i / steps;
    const px = (1 - t) * (1 - t) * x0 + 2 * (1 - t) * t * x1 + t * t * x2;
    const py = (1 - t) * (1 - t) * y0 + 2 * (1 - t) * t * y1 + t * t * y2;
    for (let y = Math.floor(py - radius - 1); y <= Math.ceil(py + radius + 1); y++) {
      for (let x = Math.floor(px - radius - 1); x <= Math.ceil(px + radius + 1); x++) {
        if (x < 0 || y < 0 || x >= size || y >= size) continue;
        const c = Math.min(1, Math.max(0, radius + 0.5 - Math.hypot(x + 0.5 - px, y + 0.5 - py)));
        const key = y * size + x;
        if (c > (coverage.get(key) ?? 0)) coverage.set(key, c);
      }
    }
  }
  // Pixel order is the Map's insertion order: deterministic.
  for (const [key, c] of coverage) {
    const x = key % size;
    const y = (key - x) / size;
    blend(canvas, x, y, colour, c);
    mark?.(x, y, c);
  }
}

/** Mean colour of a square region (clipped to the canvas). */
export function meanColour(canvas: Canvas, x0: number, y0: number, x1: number, y1: number): Rgb {
  const { size, data } = canvas;
  const sum: Rgb = [0, 0, 0];
  let n = 0;
  for (let y = Math.max(0, y0); y < Math.min(size, y1); y++) {
    for (let x = Math.max(0, x0); x < Math.min(size, x1); x++) {
      const p = (y * size + x) * 3;
      sum[0] += data[p]!;
      sum[1] += data[p + 1]!;
      sum[2] += data[p + 2]!;
      n++;
    }
  }
  return n === 0 ? [128, 128, 128] : [sum[0] / n, sum[1] / n, sum[2] / n];
}

/** A random colour whose luminance differs from `background`'s by at least `minContrast`. */
export function contrastingColour(rng: Random, background: Rgb, minContrast: number): Rgb {
  const c = rng.colour();
  const lb = luminance(background);
  const dark = lb > 127.5;
  const lc = luminance(c);
  if (dark ? lb - lc >= minContrast : lc - lb >= minContrast) return c;
  // Scale toward black (or white) until the luminance gap is reached.
  const target = dark ? Math.max(0, lb - minContrast - rng.uniform(0, 40)) : Math.min(255, lb + minContrast + rng.uniform(0, 40));
  if (dark) {
    const k = lc > 0 ? target / lc : 0;
    return [c[0] * k, c[1] * k, c[2] * k];
  }
  const k = lc < 255 ? (target - lc) / (255 - lc) : 0;
  return [c[0] + (255 - c[0]) * k, c[1] + (255 - c[1]) * k, c[2] + (255 - c[2]) * k];
}

/** Bilinear, half-pixel-centre resize of a single-channel float map. */
export function resizeAlpha(src: Float32Array, width: number, height: number, outWidth: number, outHeight: number): Float32Array {
  const out = new Float32Array(outWidth * outHeight);
  for (let y = 0; y < outHeight; y++) {
    const sy = Math.max(0, ((y + 0.5) * height) / outHeight - 0.5);
    const y0 = Math.min(Math.floor(sy), height - 1);
    const y1 = Math.min(y0 + 1, height - 1);
    const wy = sy - y0;
    for (let x = 0; x < outWidth; x++) {
      const sx = Math.max(0, ((x + 0.5) * width) / outWidth - 0.5);
      const x0 = Math.min(Math.floor(sx), width - 1);
      const x1 = Math.min(x0 + 1, width - 1);
      const wx = sx - x0;
      const top = src[y0 * width + x0]! + (src[y0 * width + x1]! - src[y0 * width + x0]!) * wx;
      const bottom = src[y1 * width + x0]! + (src[y1 * width + x1]! - src[y1 * width + x0]!) * wx;
      out[y * outWidth + x] = top + (bottom - top) * wy;
    }
  }
  return out;
}
