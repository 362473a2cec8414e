import { describe, expect, it } from 'vitest';
import { alignedIoUArray, foregroundIndices, pickRows } from '../src/index.js';

describe('quality-target helpers', () => {
  it('foregroundIndices keeps labels in [0, C) only (C background, -1 ignore)', () => {
    expect(foregroundIndices(new Int32Array([3, 0, -1, 2, 3, 1]), 3)).toEqual([1, 3, 5]);
    expect(foregroundIndices(new Int32Array(0), 3)).toEqual([]);
  });

  it('pickRows copies the chosen rows in order and names an out-of-range row', () => {
    const values = new Float32Array([0, 1, 10, 11, 20, 21]);
    expect(Array.from(pickRows(values, [2, 0, 2], 2))).toEqual([20, 21, 0, 1, 20, 21]);
    expect(() => pickRows(values, [3], 2)).toThrow(/row 3/);
  });

  it('alignedIoUArray pairs box i with box i (hand-computed values)', () => {
    // [0,0,2,2] vs [1,1,3,3]: inter 1, union 7. [0,0,4,2] vs [0,0,2,2]: 4 / 8. Disjoint: 0.
    // Inverted prediction [2,2,1,1] vs [0,0,3,3]: no intersection, area 0 -> 0.
    const a = new Float32Array([0, 0, 2, 2, 0, 0, 4, 2, 0, 0, 1, 1, 2, 2, 1, 1]);
    const b = new Float32Array([1, 1, 3, 3, 0, 0, 2, 2, 5, 5, 6, 6, 0, 0, 3, 3]);
    const iou = alignedIoUArray(a, b);
    expect(iou[0]).toBeCloseTo(1 / 7, 7);
    expect(iou[1]).toBeCloseTo(0.5, 7);
    expect(iou[2]).toBe(0);
    expect(iou[3]).toBe(0);
    expect(() => alignedIoUArray(a, b.subarray(4))).toThrow(/same number of boxes/);
  });
});
