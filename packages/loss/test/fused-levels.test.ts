import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { ProgressiveFocus, qualityFocalLoss, sigmoidFocalLoss, varifocalLoss, type HpfResult } from '../src/index.js';
import { useCpuBackend } from './support/backend.js';
import { random } from './support/reference.js';

// ProgressiveFocus computes all levels with one set of kernels (inputs concatenated, each level's
// gamma and alpha as a column) and sums each level's elements separately. That must be exactly the
// per-level static loss at the chosen constants: same float32 value and same gradient, bit for bit,
// on the cpu and the wasm backend. Levels differ in size, one is empty, one has no weights.

const C = 4;
const SIZES = [13, 0, 7, 3];

function levelData(seed: number, n: number) {
  const rand = random(seed);
  const kinds = [0, 1, 2, 3, C, C, -1];
  const labels = Array.from({ length: n }, (_, i) => kinds[(i * 5 + seed) % kinds.length]!);
  // a level whose positives are easy and one where they are hard: their gammas clip apart
  const shift = seed % 2 === 0 ? 3 : -3;
  const logits = Array.from({ length: n * C }, (_, k) => 6 * rand() - 3 + (labels[Math.floor(k / C)] === k % C ? shift : 0));
  const weights = labels.map((_, i) => (i % 4 === 3 ? 0 : i % 3 === 1 ? 0.5 : 1));
  const scores = labels.map(() => 0.1 + 0.8 * rand());
  const targets = labels.flatMap((label) => Array.from({ length: C }, (_, c) => (label === c ? 0.1 + 0.8 * rand() : 0)));
  return { n, logits, labels, weights, scores, targets };
}

const data = SIZES.map((n, l) => levelData(40 + l, n));
// Level 2 carries no weights (all ones by definition).
const hasWeights = (l: number) => l !== 2;

type Kind = 'focal' | 'quality' | 'varifocal';

/** The multi-level loss and, per level, the static loss (summed) at that level's constants; values and gradients. */
function compare(kind: Kind): { fused: number[]; perLevel: number[] } {
  return tf.tidy(() => {
    const logits = data.map((d) => tf.tensor2d(d.logits, [d.n, C]));
    const labels = data.map((d) => tf.tensor1d(d.labels, 'int32'));
    const weights = data.map((d, l) => (hasWeights(l) ? tf.tensor1d(d.weights) : undefined));
    const scores = data.map((d) => tf.tensor1d(d.scores));
    const targets = data.map((d) => tf.tensor2d(d.targets, [d.n, C]));
    // w as published: focal 0.25 * 2, varifocal 0.75 * 2 (alpha = w / gamma)
    const focus = new ProgressiveFocus({ delta: 1, w: kind === 'varifocal' ? 1.5 : 0.5 });
    const avgFactor = 3;
    let stats: HpfResult['levels'] = [];
    const fused = (...z: tf.Tensor[]) => {
      const result =
        kind === 'focal'
          ? focus.focalLoss(z.map((x, l) => ({ logits: x as tf.Tensor2D, labels: labels[l]!, labelWeights: weights[l] })), { avgFactor })
          : kind === 'quality'
            ? focus.qualityFocalLoss(z.map((x, l) => ({ logits: x as tf.Tensor2D, labels: labels[l]!, labelWeights: weights[l], scores: scores[l]! })), { avgFactor })
            : focus.varifocalLoss(z.map((x, l) => ({ logits: x as tf.Tensor2D, targets: targets[l]!, weights: weights[l] })), { avgFactor });
      stats = result.levels;
      return result.loss;
    };
    const a = tf.valueAndGrads(fused)(logits);
    const gammas = stats.map((s) => s.gamma);
    // the levels with positives really get different gammas (else this would test the shared-constant path)
    expect(new Set(gammas.filter((_, l) => stats[l]!.numPositives > 0)).size).toBeGreaterThan(1);
    const perLevel = (...z: tf.Tensor[]) => {
      const sums = z.map((x, l) => {
        const s = stats[l]!;
        const level = { logits: x as tf.Tensor2D, labels: labels[l]!, labelWeights: weights[l] };
        if (kind === 'focal') return sigmoidFocalLoss(level, { gamma: s.gamma, alpha: s.alpha!, reduction: 'sum' });
        if (kind === 'quality') return qualityFocalLoss({ ...level, scores: scores[l]! }, { beta: s.gamma, reduction: 'sum' });
        return varifocalLoss({ logits: x as tf.Tensor2D, targets: targets[l]!, weights: weights[l] }, { gamma: s.gamma, alpha: s.alpha!, reduction: 'sum' });
      });
      return tf.div(tf.addN(sums), avgFactor);
    };
    const b = tf.valueAndGrads(perLevel)(logits);
    const flat = (r: { value: tf.Tensor; grads: tf.Tensor[] }) => [...r.value.dataSync(), ...r.grads.flatMap((g) => [...g.dataSync()])];
    return { fused: flat(a), perLevel: flat(b) };
  }) as { fused: number[]; perLevel: number[] };
}

describe.each(['cpu', 'wasm'])('ProgressiveFocus over several levels (%s backend)', (backend) => {
  beforeAll(async () => {
    await useCpuBackend();
    await tf.setBackend(backend);
  });

  it.each(['focal', 'quality', 'varifocal'] as const)('%s: one fused computation equals the per-level static losses bit for bit', (kind) => {
    const before = tf.memory().numTensors;
    const { fused, perLevel } = compare(kind);
    expect(fused.length).toBe(1 + SIZES.reduce((s, n) => s + n, 0) * C);
    expect(fused[0]).toBeGreaterThan(0);
    expect(fused).toEqual(perLevel);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('ProgressiveFocus over several levels: input checks', () => {
  beforeAll(useCpuBackend);

  it('refuses levels with different numbers of classes, naming the level', () => tf.tidy(() => {
    const level = (n: number, c: number) => ({ logits: tf.zeros([n, c]) as tf.Tensor2D, labels: tf.fill([n], c, 'int32') as tf.Tensor1D });
    const focus = new ProgressiveFocus();
    expect(() => focus.focalLoss([level(3, 4), level(2, 5)])).toThrow(/focalLoss level 1: logits must have the 4 classes of level 0, got \[2, 5\]/);
    expect(() => focus.qualityFocalLoss([{ ...level(3, 4), scores: tf.ones([3]) as tf.Tensor1D }, { ...level(2, 3), scores: tf.ones([2]) as tf.Tensor1D }])).toThrow(/level 1: logits must have the 4 classes/);
    expect(focus.history).toHaveLength(0);
  }));
});
