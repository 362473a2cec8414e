import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { evaluateCoco, formatFixed3, linspace } from '../src/index.js';
import { dataset } from './helpers.js';

const fixture = JSON.parse(readFileSync(new URL('./fixtures/numpy_params.json', import.meta.url), 'utf8')) as {
  iouThrs: number[];
  recThrs: number[];
  iouThrIndexOf075: number;
  format3: [number, string][];
  format2: [number, string][];
};

describe('thresholds match numpy.linspace bit for bit (fixture from gen_numpy_params.py)', () => {
  const { params } = evaluateCoco(dataset([]), []);

  it('IoU thresholds .50:.05:.95', () => {
    expect(Array.from(params.iouThrs)).toEqual(fixture.iouThrs);
    expect(params.iouThrs.indexOf(0.75)).toBe(fixture.iouThrIndexOf075);
    expect(params.iouThrs[8]).toBe(0.8999999999999999);
  });

  it('101 recall thresholds', () => {
    expect(Array.from(params.recThrs)).toEqual(fixture.recThrs);
    expect(Array.from(linspace(0, 1, 101))).toEqual(fixture.recThrs);
  });
});

describe("Python's '{:0.3f}' (fixture from gen_numpy_params.py)", () => {
  for (const [value, text] of fixture.format3) {
    it(`${value} -> ${text}`, () => expect(formatFixed3(value)).toBe(text));
  }
  it('differs from toFixed on exact binary ties, as Python does', () => {
    expect((0.0625).toFixed(3)).toBe('0.063');
    expect(formatFixed3(0.0625)).toBe('0.062');
  });
});
