import { describe, expect, it } from 'vitest';
import { drawBox } from '../src/predict.js';

describe('drawBox', () => {
  it('draws a 1 px outline covering pixels [x1, x2) x [y1, y2), clipped to the image', () => {
    const image = { width: 6, height: 5, data: new Uint8Array(6 * 5 * 3) };
    drawBox(image, [1, 1, 4, 4], [255, 0, 0], 1);
    const red = (x: number, y: number): boolean => image.data[(y * 6 + x) * 3] === 255;
    const rows = Array.from({ length: 5 }, (_, y) => Array.from({ length: 6 }, (_, x) => (red(x, y) ? '#' : '.')).join(''));
    expect(rows).toEqual(['......', '.###..', '.#.#..', '.###..', '......']);
    // green and blue channels untouched
    expect(image.data.filter((_, k) => k % 3 !== 0).every((v) => v === 0)).toBe(true);
    const clipped = { width: 4, height: 4, data: new Uint8Array(4 * 4 * 3) };
    drawBox(clipped, [-10, -10, 100, 2], [0, 0, 9], 1);
    const blue = Array.from({ length: 4 }, (_, y) => Array.from({ length: 4 }, (_, x) => (clipped.data[(y * 4 + x) * 3 + 2] === 9 ? '#' : '.')).join(''));
    expect(blue).toEqual(['####', '####', '....', '....']);
  });
});
