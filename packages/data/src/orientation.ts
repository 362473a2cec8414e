/**
 * EXIF orientation: phones store photos as the sensor saw them and record the rotation in the
 * JPEG's EXIF block; viewers and annotation tools show them upright, so boxes drawn there are in
 * the upright frame. Decoding applies the same turn so pixels and boxes agree.
 */
import type { RgbImage } from './image.js';

/**
 * The EXIF orientation (1..8) of JPEG bytes, 1 when there is none or it is unreadable: broken
 * metadata must not make an otherwise good image fail.
 */
export function jpegOrientation(bytes: Uint8Array): number {
  const exif = findExifTiff(bytes);
  if (exif === undefined) return 1;
  try {
    return readOrientationTag(exif);
  } catch {
    return 1;
  }
}

/** The TIFF block of the first APP1 "Exif" segment, walking markers up to the image data. */
function findExifTiff(bytes: Uint8Array): Uint8Array | undefined {
  let p = 2;
  while (p + 4 <= bytes.length && bytes[p] === 0xff) {
    const marker = bytes[p + 1]!;
    // Start of scan or end of image: no metadata beyond this point.
    if (marker === 0xda || marker === 0xd9) return undefined;
    const length = (bytes[p + 2]! << 8) | bytes[p + 3]!;
    if (length < 2) return undefined;
    const body = p + 4;
    const isExif = marker === 0xe1 && length >= 8 && bytes[body] === 0x45 && bytes[body + 1] === 0x78 && bytes[body + 2] === 0x69 && bytes[body + 3] === 0x66 && bytes[body + 4] === 0 && bytes[body + 5] === 0;
    if (isExif) return bytes.subarray(body + 6, Math.min(p + 2 + length, bytes.length));
    p += 2 + length;
  }
  return undefined;
}

/** Tag 0x0112 of IFD0 in a TIFF block (either byte order); 1 when absent or out of range. */
function readOrientationTag(tiff: Uint8Array): number {
  const view = new DataView(tiff.buffer, tiff.byteOffset, tiff.byteLength);
  const order = view.getUint16(0);
  if (order !== 0x4949 && order !== 0x4d4d) return 1;
  const little = order === 0x4949;
  if (view.getUint16(2, little) !== 42) return 1;
  const ifd = view.getUint32(4, little);
  const entries = view.getUint16(ifd, little);
  for (let i = 0; i < entries; i++) {
    const entry = ifd + 2 + 12 * i;
    if (view.getUint16(entry, little) !== 0x0112) continue;
    // Type SHORT (3), count 1: the value sits in the first two bytes of the value field.
    if (view.getUint16(entry + 2, little) !== 3) return 1;
    const value = view.getUint16(entry + 8, little);
    return value >= 1 && value <= 8 ? value : 1;
  }
  return 1;
}

/**
 * The upright image for an EXIF orientation: 2 mirror, 3 half turn, 4 flip, 5 transpose,
 * 6 quarter turn clockwise, 7 transverse, 8 quarter turn anticlockwise (5..8 swap width and
 * height). Each output pixel (u, v) reads its source pixel (x, y).
 */
export function orientImage(image: RgbImage, orientation: number): RgbImage {
  if (orientation === 1) return image;
  if (!Number.isInteger(orientation) || orientation < 1 || orientation > 8) throw new Error(`orientImage: orientation must be an integer 1..8, got ${orientation}`);
  const { width: W, height: H, data } = image;
  const swap = orientation >= 5;
  const width = swap ? H : W;
  const height = swap ? W : H;
  const out = new Uint8Array(data.length);
  const source: (u: number, v: number) => number = [
    (u: number, v: number) => v * W + u,
    (u: number, v: number) => v * W + (W - 1 - u),
    (u: number, v: number) => (H - 1 - v) * W + (W - 1 - u),
    (u: number, v: number) => (H - 1 - v) * W + u,
    (u: number, v: number) => u * W + v,
    (u: number, v: number) => (H - 1 - u) * W + v,
    (u: number, v: number) => (H - 1 - u) * W + (W - 1 - v),
    (u: number, v: number) => u * W + (W - 1 - v),
  ][orientation - 1]!;
  for (let v = 0; v < height; v++) {
    for (let u = 0; u < width; u++) {
      const s = 3 * source(u, v);
      const d = 3 * (v * width + u);
      out[d] = data[s]!;
      out[d + 1] = data[s + 1]!;
      out[d + 2] = data[s + 2]!;
    }
  }
  return { width, height, data: out };
}
