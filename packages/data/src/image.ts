import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { jpegOrientation, orientImage } from './orientation.js';

/** An 8-bit RGB image, rows top to bottom, pixels interleaved `r, g, b`. */
export interface RgbImage {
  width: number;
  height: number;
  /** Length `width * height * 3`. */
  data: Uint8Array;
}

export type ImageFormat = 'png' | 'jpeg';

/** What a file's first bytes say it is; `webp` and `gif` are recognised only to name them in errors. */
export type SniffedFormat = ImageFormat | 'webp' | 'gif' | 'unknown';

/**
 * The format from the file's signature, not its name: a PNG saved as `.jpg` (common in scraped
 * datasets) is still a PNG.
 */
export function sniffImageFormat(bytes: Uint8Array): SniffedFormat {
  const at = (i: number, ...want: number[]): boolean => want.every((b, k) => bytes[i + k] === b);
  if (at(0, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'png';
  if (at(0, 0xff, 0xd8, 0xff)) return 'jpeg';
  if (at(0, 0x52, 0x49, 0x46, 0x46) && at(8, 0x57, 0x45, 0x42, 0x50)) return 'webp';
  if (at(0, 0x47, 0x49, 0x46, 0x38)) return 'gif';
  return 'unknown';
}

/** The codec chosen from a file name's extension (`.png`, `.jpg`, `.jpeg`, any case). */
export function imageFormatOf(fileName: string): ImageFormat {
  const ext = fileName.slice(fileName.lastIndexOf('.') + 1).toLowerCase();
  if (ext === 'png') return 'png';
  if (ext === 'jpg' || ext === 'jpeg') return 'jpeg';
  throw new Error(`${fileName}: unsupported image type ".${ext}" (expected .png, .jpg or .jpeg)`);
}

/**
 * Decodes PNG or JPEG bytes into RGB, the codec chosen from the bytes' signature. Alpha is dropped
 * (detection datasets store opaque photos; compositing over a colour would invent pixels). 16-bit
 * PNGs are reduced to 8 bits by pngjs. A JPEG's EXIF orientation is applied, so the pixels are
 * upright as a viewer (and an annotation tool) shows them. `fileName` names the file in errors.
 */
export function decodeImage(bytes: Uint8Array, fileName: string): RgbImage {
  const format = sniffImageFormat(bytes);
  if (format !== 'png' && format !== 'jpeg') {
    const what = format === 'unknown' ? 'not a PNG or JPEG file (unrecognised signature)' : `a ${format.toUpperCase()} file; only PNG and JPEG are decoded (convert it, e.g. to PNG)`;
    throw new Error(`${fileName}: cannot decode image: ${what}`);
  }
  let width: number;
  let height: number;
  let rgba: Uint8Array;
  try {
    if (format === 'png') {
      const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      ({ width, height } = png);
      rgba = png.data;
    } else {
      const decoded = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 1024 });
      ({ width, height } = decoded);
      rgba = decoded.data;
    }
  } catch (err) {
    throw new Error(`${fileName}: cannot decode ${format.toUpperCase()} image: ${(err as Error).message}`, { cause: err });
  }
  const data = new Uint8Array(width * height * 3);
  for (let p = 0, q = 0; p < data.length; p += 3, q += 4) {
    data[p] = rgba[q]!;
    data[p + 1] = rgba[q + 1]!;
    data[p + 2] = rgba[q + 2]!;
  }
  const image = { width, height, data };
  return format === 'jpeg' ? orientImage(image, jpegOrientation(bytes)) : image;
}

export interface EncodeOptions {
  /** JPEG quality 1..100 (default 95). Ignored for PNG, which is lossless. */
  jpegQuality?: number;
}

/** Encodes RGB pixels as PNG or JPEG, chosen by `fileName`'s extension. */
export function encodeImage(image: RgbImage, fileName: string, options: EncodeOptions = {}): Uint8Array {
  checkRgbImage(image, fileName);
  const format = imageFormatOf(fileName);
  const { width, height } = image;
  const rgba = Buffer.alloc(width * height * 4);
  for (let p = 0, q = 0; p < image.data.length; p += 3, q += 4) {
    rgba[q] = image.data[p]!;
    rgba[q + 1] = image.data[p + 1]!;
    rgba[q + 2] = image.data[p + 2]!;
    rgba[q + 3] = 255;
  }
  if (format === 'png') {
    // colorType 2 (RGB, no alpha) keeps files ~25% smaller than RGBA. One fixed filter (Paeth)
    // instead of pngjs's try-all-five heuristic, and zlib level 6: measured ~40% faster encoding
    // for ~1% larger files on digits-det images.
    return PNG.sync.write(Object.assign(new PNG({ width, height }), { data: rgba }), {
      colorType: 2,
      inputColorType: 6,
      filterType: 4,
      deflateLevel: 6,
    });
  }
  const quality = options.jpegQuality ?? 95;
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) {
    throw new Error(`encodeImage: option jpegQuality must be an integer in 1..100, got ${quality}`);
  }
  return jpeg.encode({ width, height, data: rgba }, quality).data;
}

export function checkRgbImage(image: RgbImage, what: string): void {
  const { width, height, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new Error(`${what}: image size must be positive integers, got ${width}x${height}`);
  }
  if (data.length !== width * height * 3) {
    throw new Error(`${what}: RGB data has ${data.length} bytes, expected ${width}x${height}x3 = ${width * height * 3}`);
  }
}

/** Mirrors an image left-right (a new image; the input is untouched). */
export function flipImageHorizontal(image: RgbImage): RgbImage {
  const { width, height, data } = image;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < height; y++) {
    const row = y * width * 3;
    for (let x = 0; x < width; x++) {
      const src = row + x * 3;
      const dst = row + (width - 1 - x) * 3;
      out[dst] = data[src]!;
      out[dst + 1] = data[src + 1]!;
      out[dst + 2] = data[src + 2]!;
    }
  }
  return { width, height, data: out };
}
