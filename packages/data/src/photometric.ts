/**
 * Photometric distortions as torchvision's tensor ops define them (`adjust_brightness`,
 * `adjust_contrast`, `adjust_saturation`, `adjust_hue` on float images, and `ColorJitter`'s
 * random order), on interleaved RGB arrays whose values run from 0 to `maxValue` (255 for this
 * package's images; torchvision's float images are the case `maxValue = 1`). They work in place:
 * the batch pipeline owns the array and a copy per op would only cost time.
 */

/** An interleaved RGB image of floats in `0..maxValue` (a `FloatRgbImage`, or float64 for references). */
export interface PixelImage {
  width: number;
  height: number;
  data: Float32Array | Float64Array;
}

// torchvision's rgb_to_grayscale weights (ITU-R 601-2 luma, with 0.2989 for red).
const LUMA_R = 0.2989;
const LUMA_G = 0.587;
const LUMA_B = 0.114;

function checkFactor(name: string, factor: number): void {
  if (!(factor >= 0 && Number.isFinite(factor))) throw new Error(`${name}: factor must be a finite number >= 0, got ${factor}`);
}

/** `factor * pixel` clipped to `[0, maxValue]`: 0 gives black, 1 the image. */
export function adjustBrightness(image: PixelImage, factor: number, maxValue = 255): void {
  checkFactor('adjustBrightness', factor);
  const d = image.data;
  for (let i = 0; i < d.length; i++) d[i] = Math.min(Math.max(factor * d[i]!, 0), maxValue);
}

/**
 * Blends each pixel with the image's mean luma, `factor * pixel + (1 - factor) * mean`, clipped:
 * 0 gives a flat grey, 1 the image, 2 doubles the spread around the mean.
 */
export function adjustContrast(image: PixelImage, factor: number, maxValue = 255): void {
  checkFactor('adjustContrast', factor);
  const d = image.data;
  const pixels = d.length / 3;
  if (pixels === 0) return;
  let sum = 0;
  for (let i = 0; i < d.length; i += 3) sum += LUMA_R * d[i]! + LUMA_G * d[i + 1]! + LUMA_B * d[i + 2]!;
  const mean = sum / pixels;
  const base = (1 - factor) * mean;
  for (let i = 0; i < d.length; i++) d[i] = Math.min(Math.max(factor * d[i]! + base, 0), maxValue);
}

/** Blends each pixel with its own luma: 0 gives greyscale, 1 the image, 2 doubles the colour. */
export function adjustSaturation(image: PixelImage, factor: number, maxValue = 255): void {
  checkFactor('adjustSaturation', factor);
  const d = image.data;
  for (let i = 0; i < d.length; i += 3) {
    const grey = (1 - factor) * (LUMA_R * d[i]! + LUMA_G * d[i + 1]! + LUMA_B * d[i + 2]!);
    for (let c = 0; c < 3; c++) d[i + c] = Math.min(Math.max(factor * d[i + c]! + grey, 0), maxValue);
  }
}

/**
 * Rotates the hue by `shift` turns (in [-0.5, 0.5]; 0.5 gives the complementary colours) through
 * HSV with hue in [0, 1), as torchvision's `_rgb2hsv` / `_hsv2rgb` (grey pixels, max = min, get
 * hue 0 and saturation 0 and come back unchanged).
 */
export function adjustHue(image: PixelImage, shift: number, maxValue = 255): void {
  if (!(shift >= -0.5 && shift <= 0.5)) throw new Error(`adjustHue: shift must be in [-0.5, 0.5], got ${shift}`);
  const d = image.data;
  const clip = (v: number) => Math.min(Math.max(v, 0), maxValue);
  for (let i = 0; i < d.length; i += 3) {
    const r = d[i]!;
    const g = d[i + 1]!;
    const b = d[i + 2]!;
    const v = Math.max(r, g, b);
    const range = v - Math.min(r, g, b);
    let h = 0;
    let s = 0;
    if (range !== 0) {
      s = range / v;
      const rc = (v - r) / range;
      const gc = (v - g) / range;
      const bc = (v - b) / range;
      const sector = v === r ? bc - gc : v === g ? 2 + rc - bc : 4 + gc - rc;
      h = (sector / 6 + 1) % 1;
    }
    // torch's remainder: the result takes the divisor's sign, so a negative shift wraps to [0, 1).
    const shifted = h + shift - Math.floor(h + shift);
    const k = Math.floor(shifted * 6);
    const f = shifted * 6 - k;
    const p = clip(v * (1 - s));
    const q = clip(v * (1 - s * f));
    const t = clip(v * (1 - s * (1 - f)));
    // (r, g, b) in each sixth of the hue circle; written out, since an array per pixel doubles the time.
    switch (k % 6) {
      case 0: d[i] = v; d[i + 1] = t; d[i + 2] = p; break;
      case 1: d[i] = q; d[i + 1] = v; d[i + 2] = p; break;
      case 2: d[i] = p; d[i + 1] = v; d[i + 2] = t; break;
      case 3: d[i] = p; d[i + 1] = q; d[i + 2] = v; break;
      case 4: d[i] = t; d[i + 1] = p; d[i + 2] = v; break;
      default: d[i] = v; d[i + 1] = p; d[i + 2] = q;
    }
  }
}

/** The factors of one `ColorJitter` draw; `null` leaves that op out. */
export interface ColorJitterParams {
  /** Order the ops run in: a permutation of 0 brightness, 1 contrast, 2 saturation, 3 hue. */
  order: number[];
  brightness: number | null;
  contrast: number | null;
  saturation: number | null;
  hue: number | null;
}

/** Runs the four ops of a `ColorJitter` draw in its order, in place (torchvision's forward). */
export function applyColorJitter(image: PixelImage, params: ColorJitterParams, maxValue = 255): void {
  if (!(params.order.length === 4 && [0, 1, 2, 3].every((k) => params.order.includes(k)))) {
    throw new Error(`applyColorJitter: order must be a permutation of 0, 1, 2, 3, got ${JSON.stringify(params.order)}`);
  }
  for (const op of params.order) {
    if (op === 0 && params.brightness !== null) adjustBrightness(image, params.brightness, maxValue);
    else if (op === 1 && params.contrast !== null) adjustContrast(image, params.contrast, maxValue);
    else if (op === 2 && params.saturation !== null) adjustSaturation(image, params.saturation, maxValue);
    else if (op === 3 && params.hue !== null) adjustHue(image, params.hue, maxValue);
  }
}
