import { describe, expect, it } from 'vitest';
import { boxesFromCanvas, boxesToCanvas, flipBoxesHorizontal, letterboxGeometry, letterboxImage } from '../src/index.js';
import { makeImage } from './helpers.js';

describe('letterbox', () => {
  it('hand-worked geometry: 4x2 into 8x8', () => {
    const g = letterboxGeometry(4, 2, 8, 8);
    // ratio min(8/4, 8/2) = 2, resized 8x4, vertical padding (8-4)/2 = 2.
    expect(g.scale).toEqual([2, 2]);
    expect(g.offset).toEqual([0, 2]);
    expect(g.resized).toEqual({ width: 8, height: 4 });
    expect(Array.from(boxesToCanvas(Float32Array.of(1, 0.5, 3, 2), g))).toEqual([2, 3, 6, 6]);
  });

  it('hand-worked geometry with rounding: 5x3 into 8x8', () => {
    const g = letterboxGeometry(5, 3, 8, 8);
    // ratio 1.6: 5*1.6 = 8, 3*1.6 = 4.8 -> 5 rows; per-axis scales 8/5 and 5/3; top pad floor(3/2) = 1.
    expect(g.resized).toEqual({ width: 8, height: 5 });
    expect(g.scale[0]).toBeCloseTo(1.6, 12);
    expect(g.scale[1]).toBeCloseTo(5 / 3, 12);
    expect(g.offset).toEqual([0, 1]);
    const out = boxesToCanvas(Float32Array.of(1, 1, 4, 2), g);
    const want = [1.6, 1 + 5 / 3, 6.4, 1 + 10 / 3];
    want.forEach((v, i) => expect(out[i]).toBeCloseTo(v, 5));
    const back = boxesFromCanvas(out, g, { width: 5, height: 3 });
    [1, 1, 4, 2].forEach((v, i) => expect(back[i]).toBeCloseTo(v, 5));
  });

  it('tall image pads left and right: 3x5 into 10x10', () => {
    const g = letterboxGeometry(3, 5, 10, 10);
    expect(g).toMatchObject({ scale: [2, 2], offset: [2, 0], resized: { width: 6, height: 10 } });
  });

  it('hand-worked pixels: 2x1 ramp into a 4x4 canvas', () => {
    const img = makeImage(2, 1, (x) => [x * 100, 0, 0]);
    const { image } = letterboxImage(img, 4, 4, -1);
    const red = Array.from({ length: 16 }, (_, i) => image.data[i * 3]);
    // Half-pixel sampling of [0, 100] at 4 outputs: x_src = (i + .5) / 2 - .5 = -.25|.25|.75|1.25 -> 0, 25, 75, 100.
    expect(red).toEqual([-1, -1, -1, -1, 0, 25, 75, 100, 0, 25, 75, 100, -1, -1, -1, -1]);
  });

  it('matches a float64 bilinear reference on a 7x5 image resized to 11x8', () => {
    const img = makeImage(7, 5, (x, y) => [(x * 37 + y * 11) % 256, (x * x * 5 + y * 29) % 256, (255 - x * y * 7) % 256]);
    const { image, geometry } = letterboxImage(img, 11, 11);
    expect(geometry.resized).toEqual({ width: 11, height: 8 });
    const px = (x: number, y: number, c: number) => img.data[(y * 7 + x) * 3 + c]!;
    for (let oy = 0; oy < 8; oy++) {
      for (let ox = 0; ox < 11; ox++) {
        // Reference: source coordinate by torch's align_corners=False rule, 4-neighbour weights.
        const sx = Math.max(0, ((ox + 0.5) * 7) / 11 - 0.5);
        const sy = Math.max(0, ((oy + 0.5) * 5) / 8 - 0.5);
        const x0 = Math.floor(sx);
        const y0 = Math.floor(sy);
        const x1 = Math.min(x0 + 1, 6);
        const y1 = Math.min(y0 + 1, 4);
        const ax = sx - x0;
        const ay = sy - y0;
        for (let c = 0; c < 3; c++) {
          const want = (1 - ay) * ((1 - ax) * px(x0, y0, c) + ax * px(x1, y0, c)) + ay * ((1 - ax) * px(x0, y1, c) + ax * px(x1, y1, c));
          const got = image.data[((oy + geometry.offset[1]) * 11 + ox + geometry.offset[0]) * 3 + c]!;
          expect(Math.abs(got - want)).toBeLessThan(1e-3);
        }
      }
    }
  });

  it('flips boxes: x -> W - x with x1/x2 swapped', () => {
    expect(Array.from(flipBoxesHorizontal(Float32Array.of(1, 2, 4, 6, 0, 0, 10, 1), 10))).toEqual([6, 2, 9, 6, 0, 0, 10, 1]);
  });

  it('rejects non-integer sizes naming the argument', () => {
    expect(() => letterboxGeometry(4, 2, 8.5, 8)).toThrow(/canvasWidth must be a positive integer, got 8.5/);
  });
});
