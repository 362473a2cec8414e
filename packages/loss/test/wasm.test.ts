import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  distributionFocalLoss,
  giouLoss,
  iouLoss,
  ProgressiveFocus,
  qualityFocalLoss,
  sigmoidFocalLoss,
  varifocalLoss,
} from '../src/index.js';
import { expectClose } from './support/assert.js';
import { useCpuBackend } from './support/backend.js';
import { random } from './support/reference.js';

// The wasm backend lacks UnsortedSegmentSum (the gradient of gather) among others: every loss must
// run forward and backward on it and agree with the cpu backend.

const N = 9;
const C = 4;
const rand = random(77);
const logits = Array.from({ length: N * C }, () => 10 * rand() - 5);
const labels = [0, 1, C, -1, 3, 2, C, 0, 1];
const weights = [1, 1, 1, 1, 0, 0.5, 1, 2, 1];
const scores = Array.from({ length: N }, () => rand());
const iouTargets = labels.map((l) => Array.from({ length: C }, (_, c) => (l === c ? 0.3 + 0.6 * rand() : 0)));
const boxes1 = Array.from({ length: N }, () => {
  const x = 20 * rand();
  const y = 20 * rand();
  return [x, y, x + 5 + 10 * rand(), y + 5 + 10 * rand()];
});
const boxes2 = boxes1.map((b) => b.map((v) => v + 3 * rand()));
const distances = Array.from({ length: N }, () => 6.9 * rand());

/** Loss value and gradient of every loss on the current backend. */
function everything(): number[][] {
  return tf.tidy(() => {
    const z = tf.tensor2d(logits, [N, C]);
    const base = { labels: tf.tensor1d(labels, 'int32'), labelWeights: tf.tensor1d(weights) };
    const p = tf.tensor2d(boxes1);
    const q = tf.tensor2d(boxes2);
    const focus = new ProgressiveFocus();
    const fns: Array<(x: tf.Tensor) => tf.Tensor> = [
      (x) => sigmoidFocalLoss({ ...base, logits: x as tf.Tensor2D }),
      (x) => qualityFocalLoss({ ...base, logits: x as tf.Tensor2D, scores: tf.tensor1d(scores) }),
      (x) => varifocalLoss({ logits: x as tf.Tensor2D, targets: tf.tensor2d(iouTargets) }),
      (x) => focus.focalLoss([{ ...base, logits: x as tf.Tensor2D }], { avgFactor: 3 }).loss,
      (x) => focus.qualityFocalLoss([{ ...base, logits: x as tf.Tensor2D, scores: tf.tensor1d(scores) }]).loss,
      (x) => focus.varifocalLoss([{ logits: x as tf.Tensor2D, targets: tf.tensor2d(iouTargets) }]).loss,
      (x) => distributionFocalLoss(tf.reshape(x, [N * 2, 2]) as tf.Tensor2D, tf.tensor1d(distances.flatMap((d) => [d / 7, 1 - d / 7]))),
    ];
    const out = fns.map((f) => {
      const { value, grads } = tf.valueAndGrads(f)([z]);
      return [...value.dataSync(), ...grads[0]!.dataSync()];
    });
    for (const f of [(a: tf.Tensor, b: tf.Tensor) => iouLoss(a as tf.Tensor2D, b as tf.Tensor2D), (a: tf.Tensor, b: tf.Tensor) => giouLoss(a as tf.Tensor2D, b as tf.Tensor2D)]) {
      const { value, grads } = tf.valueAndGrads(f)([p, q]);
      out.push([...value.dataSync(), ...grads[0]!.dataSync(), ...grads[1]!.dataSync()]);
    }
    return out;
  });
}

describe('wasm backend', () => {
  let onCpu: number[][];
  beforeAll(async () => {
    await useCpuBackend();
    onCpu = everything();
    expect(await tf.setBackend('wasm')).toBe(true);
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it('computes every loss and its gradient, equal to the cpu backend', () => {
    const onWasm = everything();
    expect(onWasm).toHaveLength(onCpu.length);
    onWasm.forEach((values, k) => {
      try {
        expectClose(values, onCpu[k]!, 1e-4, 1e-6);
      } catch (e) {
        throw new Error(`loss #${k}: ${(e as Error).message}`, { cause: e });
      }
    });
  });
});
