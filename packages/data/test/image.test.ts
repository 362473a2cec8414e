import { describe, expect, it } from 'vitest';
import { decodeImage, encodeImage, flipImageHorizontal, imageFormatOf, jpegOrientation, orientImage, sniffImageFormat } from '../src/index.js';
import { makeImage } from './helpers.js';

// 3x2 hand-made image: every pixel a distinct colour.
const tiny = makeImage(3, 2, (x, y) => [10 + 80 * x, 200 - 90 * y, 7 * x + 50 * y]);

describe('image codecs', () => {
  it('PNG round trip is exact', () => {
    const decoded = decodeImage(encodeImage(tiny, 'a.png'), 'a.png');
    expect(decoded.width).toBe(3);
    expect(decoded.height).toBe(2);
    expect(Array.from(decoded.data)).toEqual([10, 200, 0, 90, 200, 7, 170, 200, 14, 10, 110, 50, 90, 110, 57, 170, 110, 64]);
  });

  it('JPEG decodes flat 8x8 blocks to their colours within JPEG rounding', () => {
    // Four flat 8x8 blocks: flat blocks have only a DC coefficient, so quality 100 keeps them almost exactly.
    const colours: [number, number, number][] = [[200, 30, 30], [30, 200, 30], [30, 30, 200], [128, 128, 128]];
    const img = makeImage(16, 16, (x, y) => colours[(y >> 3) * 2 + (x >> 3)]!);
    const decoded = decodeImage(encodeImage(img, 'b.jpg', { jpegQuality: 100 }), 'b.jpg');
    expect([decoded.width, decoded.height]).toEqual([16, 16]);
    // Centre pixel of each block (away from chroma-subsampling seams).
    for (const [bx, by] of [[0, 0], [1, 0], [0, 1], [1, 1]] as const) {
      const p = ((by * 8 + 3) * 16 + bx * 8 + 3) * 3;
      const want = colours[by * 2 + bx]!;
      for (let c = 0; c < 3; c++) expect(Math.abs(decoded.data[p + c]! - want[c]!)).toBeLessThanOrEqual(4);
    }
  });

  it('names the file when bytes are not an image of that type', () => {
    expect(() => decodeImage(Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2]), 'broken.png')).toThrow(/broken\.png: cannot decode PNG/);
    expect(() => decodeImage(Uint8Array.from([0xff, 0xd8, 0xff, 1, 2]), 'broken.jpg')).toThrow(/broken\.jpg: cannot decode JPEG/);
    expect(() => imageFormatOf('x.gif')).toThrow(/x\.gif: unsupported image type "\.gif"/);
  });

  it('flips pixels left-right', () => {
    const flipped = flipImageHorizontal(tiny);
    expect(Array.from(flipped.data.subarray(0, 9))).toEqual([170, 200, 14, 90, 200, 7, 10, 200, 0]);
    expect(Array.from(flipImageHorizontal(flipped).data)).toEqual(Array.from(tiny.data));
  });
});

describe('PNG colour types', () => {
  it('a grayscale PNG decodes to R = G = B', async () => {
    const { PNG } = await import('pngjs');
    const png = new PNG({ width: 2, height: 1 });
    png.data = Buffer.from([0, 0, 0, 255, 200, 200, 200, 255]);
    const bytes = PNG.sync.write(png, { colorType: 0, inputColorType: 6 });
    expect(Array.from(decodeImage(bytes, 'g.png').data)).toEqual([0, 0, 0, 200, 200, 200]);
  });
});

describe('codec from the bytes, not the name', () => {
  it('a PNG named .jpg and a JPEG named .png decode', () => {
    expect(Array.from(decodeImage(encodeImage(tiny, 'a.png'), 'really-a-png.jpg').data)).toEqual(Array.from(tiny.data));
    const flat = makeImage(8, 8, () => [30, 200, 30]);
    const decoded = decodeImage(encodeImage(flat, 'b.jpg', { jpegQuality: 100 }), 'really-a-jpeg.png');
    expect([decoded.width, decoded.height]).toEqual([8, 8]);
    expect(Math.abs(decoded.data[0]! - 30)).toBeLessThanOrEqual(3);
  });
  it('sniffs signatures and names unsupported formats', () => {
    const webp = new Uint8Array([0x52, 0x49, 0x46, 0x46, 1, 0, 0, 0, 0x57, 0x45, 0x42, 0x50, 0x56, 0x50, 0x38, 0x20]);
    expect(sniffImageFormat(encodeImage(tiny, 'a.png'))).toBe('png');
    expect(sniffImageFormat(encodeImage(tiny, 'a.jpg'))).toBe('jpeg');
    expect(sniffImageFormat(webp)).toBe('webp');
    expect(sniffImageFormat(new TextEncoder().encode('GIF89a...'))).toBe('gif');
    expect(() => decodeImage(webp, 'x.webp')).toThrow('x.webp: cannot decode image: a WEBP file; only PNG and JPEG are decoded');
    expect(() => decodeImage(new Uint8Array([1, 2, 3, 4]), 'y.png')).toThrow('y.png: cannot decode image: not a PNG or JPEG file');
  });
});

/** JPEG bytes with an APP1 Exif segment holding one IFD0 entry: Orientation = `value`. */
function withOrientation(jpegBytes: Uint8Array, value: number, littleEndian: boolean): Uint8Array {
  const tiff = new Uint8Array(8 + 2 + 12 + 4);
  const v = new DataView(tiff.buffer);
  tiff.set(littleEndian ? [0x49, 0x49] : [0x4d, 0x4d], 0);
  v.setUint16(2, 42, littleEndian);
  v.setUint32(4, 8, littleEndian);
  v.setUint16(8, 1, littleEndian);
  v.setUint16(10, 0x0112, littleEndian);
  v.setUint16(12, 3, littleEndian);
  v.setUint32(14, 1, littleEndian);
  v.setUint16(18, value, littleEndian);
  const body = [...new TextEncoder().encode('Exif'), 0, 0, ...tiff];
  const len = body.length + 2;
  return Uint8Array.from([0xff, 0xd8, 0xff, 0xe1, len >> 8, len & 0xff, ...body, ...jpegBytes.subarray(2)]);
}

describe('EXIF orientation', () => {
  // 16x8 stored image: left 8x8 block red, right block blue (flat blocks survive JPEG exactly enough).
  const stored = makeImage(16, 8, (x) => (x < 8 ? [220, 30, 30] : [30, 30, 220]));
  const bytes = encodeImage(stored, 's.jpg', { jpegQuality: 100 });
  const colourAt = (img: { width: number; data: Uint8Array }, x: number, y: number): 'red' | 'blue' => (img.data[(y * img.width + x) * 3]! > 128 ? 'red' : 'blue');
  it('turns the pixels upright for every orientation, either byte order', () => {
    // Where the red block ends up: [width, height, colour at (3, 3)] per orientation.
    const want: Record<number, [number, number, 'red' | 'blue']> = { 1: [16, 8, 'red'], 2: [16, 8, 'blue'], 3: [16, 8, 'blue'], 4: [16, 8, 'red'], 5: [8, 16, 'red'], 6: [8, 16, 'red'], 7: [8, 16, 'blue'], 8: [8, 16, 'blue'] };
    for (const little of [true, false]) {
      for (let o = 1; o <= 8; o++) {
        const img = decodeImage(withOrientation(bytes, o, little), 'o.jpg');
        expect([img.width, img.height, colourAt(img, 3, 3)], `orientation ${o}`).toEqual(want[o]);
      }
    }
  });
  it('maps each pixel exactly (orientImage on a 3x2 image)', () => {
    // tiny's pixel (x, y) has red 10 + 80 x and green 200 - 90 y: read back (x, y) of each output pixel.
    const where = (img: { width: number; height: number; data: Uint8Array }) => Array.from({ length: img.width * img.height }, (_, i) => [(img.data[3 * i]! - 10) / 80, (200 - img.data[3 * i + 1]!) / 90].join(','));
    expect(where(orientImage(tiny, 6))).toEqual(['0,1', '0,0', '1,1', '1,0', '2,1', '2,0']);
    expect(where(orientImage(tiny, 8))).toEqual(['2,0', '2,1', '1,0', '1,1', '0,0', '0,1']);
    expect(where(orientImage(tiny, 3))).toEqual(['2,1', '1,1', '0,1', '2,0', '1,0', '0,0']);
    expect(where(orientImage(tiny, 5))).toEqual(['0,0', '0,1', '1,0', '1,1', '2,0', '2,1']);
    expect(where(orientImage(tiny, 7))).toEqual(['2,1', '2,0', '1,1', '1,0', '0,1', '0,0']);
  });
  it('broken or absent EXIF leaves the image as stored', () => {
    expect(jpegOrientation(bytes)).toBe(1);
    expect(jpegOrientation(withOrientation(bytes, 9, true))).toBe(1);
    const broken = withOrientation(bytes, 6, true);
    broken[12] = 0x58; // byte-order mark no longer 'II' or 'MM'
    expect(decodeImage(broken, 'b.jpg').width).toBe(16);
  });
});
