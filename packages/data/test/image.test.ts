import { describe, expect, it } from 'vitest';
import { decodeImage, encodeImage, flipImageHorizontal, imageFormatOf } from '../src/index.js';
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
    expect(() => decodeImage(new Uint8Array([1, 2, 3, 4]), 'broken.png')).toThrow(/broken\.png: cannot decode PNG/);
    expect(() => decodeImage(new Uint8Array([1, 2, 3, 4]), 'broken.jpg')).toThrow(/broken\.jpg: cannot decode JPEG/);
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
