import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const draws = (seed: number): number[] => {
  const rng = createRng(seed);
  return [rng.uniform(), rng.normal(), rng.normal(), rng.int(0, 1000), rng.uniform(-3, 5), ...rng.permutation(6)];
};

describe('createRng', () => {
  it('replays the same sequence for the same seed and differs for another seed', () => {
    expect(draws(7)).toEqual(draws(7));
    expect(draws(7)).not.toEqual(draws(8));
  });

  it('draws uniform floats in range with the right moments', () => {
    const rng = createRng(1);
    const xs = Array.from({ length: 20000 }, () => rng.uniform(2, 4));
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(2);
    expect(Math.max(...xs)).toBeLessThan(4);
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length;
    // Uniform(2, 4): mean 3, variance 1/3; 20000 draws put the sample mean within ~0.004 (1 sd).
    expect(mean).toBeCloseTo(3, 1);
    expect(variance).toBeCloseTo(1 / 3, 1);
  });

  it('draws normals with the requested mean and std', () => {
    const rng = createRng(2);
    const xs = Array.from({ length: 20000 }, () => rng.normal(1.5, 2));
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const std = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
    expect(Math.abs(mean - 1.5)).toBeLessThan(0.05);
    expect(Math.abs(std - 2)).toBeLessThan(0.05);
  });

  it('draws every integer of [low, high) and nothing else', () => {
    const rng = createRng(3);
    const counts = new Map<number, number>();
    for (let i = 0; i < 7000; i++) {
      const v = rng.int(-3, 4);
      counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    expect([...counts.keys()].sort((a, b) => a - b)).toEqual([-3, -2, -1, 0, 1, 2, 3]);
    for (const c of counts.values()) expect(Math.abs(c - 1000)).toBeLessThan(150);
  });

  it('shuffles into a permutation, reproducibly', () => {
    const a = createRng(4).shuffle(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']);
    const b = createRng(4).shuffle(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']);
    expect(a).toEqual(b);
    expect([...a].sort()).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']);
    expect(a).not.toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']);
    expect(createRng(4).permutation(50).sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('forks independent, reproducible streams without shifting the parent by the child draws', () => {
    const parent1 = createRng(5);
    const child1 = parent1.fork();
    const childDraws = Array.from({ length: 5 }, () => child1.uniform());
    const parentAfter1 = parent1.uniform();

    const parent2 = createRng(5);
    const child2 = parent2.fork();
    const parentAfter2 = parent2.uniform(); // drawn before the child this time
    expect(Array.from({ length: 5 }, () => child2.uniform())).toEqual(childDraws);
    expect(parentAfter2).toBe(parentAfter1);
    expect(childDraws).not.toContain(parentAfter1);
  });

  it('seeds tfjs random ops deterministically', () => {
    const init = (seed: number): Float32Array =>
      tf.tidy(() => {
        const rng = createRng(seed);
        const a = tf.randomNormal([4, 4], 0, 1, 'float32', rng.tfSeed());
        const b = tf.randomUniform([3], 0, 1, 'float32', rng.tfSeed());
        return tf.concat([tf.reshape(a, [-1]), b]).dataSync() as Float32Array;
      });
    expect(Array.from(init(9))).toEqual(Array.from(init(9)));
    expect(Array.from(init(9))).not.toEqual(Array.from(init(10)));
  });

  it('rejects bad arguments with the offending name', () => {
    expect(() => createRng(1.5)).toThrow(/seed must be a safe integer/);
    const rng = createRng(0);
    expect(() => rng.int(3, 3)).toThrow(/rng.int: high \(3\) must be greater than low \(3\)/);
    expect(() => rng.uniform(1, 0)).toThrow(/rng.uniform/);
    expect(() => rng.normal(0, -1)).toThrow(/std must be >= 0/);
  });
});
