import { expect } from 'vitest';

/** |actual - expected| <= atol + rtol |expected| for every element, with the index in the message. */
export function expectClose(actual: ArrayLike<number> | number, expected: ArrayLike<number> | number, rtol = 1e-5, atol = 1e-7): void {
  const a = typeof actual === 'number' ? [actual] : Array.from(actual);
  const e = typeof expected === 'number' ? [expected] : Array.from(expected);
  expect(a.length, 'length').toBe(e.length);
  a.forEach((v, i) => {
    const bound = atol + rtol * Math.abs(e[i]!);
    if (!(Math.abs(v - e[i]!) <= bound)) {
      expect.fail(`element ${i}: got ${v}, expected ${e[i]} (tolerance ${bound})`);
    }
  });
}

export function expectAllFinite(values: ArrayLike<number>, what: string): void {
  Array.from(values).forEach((v, i) => {
    if (!Number.isFinite(v)) expect.fail(`${what}[${i}] is ${v}`);
  });
}
