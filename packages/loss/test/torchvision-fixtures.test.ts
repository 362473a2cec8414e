import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { alignedBoxIoU, giouLoss, sigmoidFocalLoss } from '../src/index.js';
import { expectClose } from './support/assert.js';
import { useCpuBackend } from './support/backend.js';

/** Written by fixtures/gen_torchvision.py from torchvision.ops in float64. */
interface Fixtures {
  focal: Array<{
    n: number;
    c: number;
    gamma: number;
    alpha: number;
    avgFactor: number;
    logits: number[];
    labels: number[];
    weights: number[];
    loss: number[];
    total: number;
    grad: number[];
  }>;
  boxes: { boxes1: number[][]; boxes2: number[][]; iou: number[]; giouLoss: number[]; giouGrad1: number[][]; giouGrad2: number[][] };
}

const fixtures = JSON.parse(readFileSync(new URL('./fixtures/torchvision.json', import.meta.url), 'utf8')) as Fixtures;

beforeAll(useCpuBackend);

describe('against torchvision (float64 fixtures)', () => {
  it('sigmoidFocalLoss equals torchvision.ops.sigmoid_focal_loss, incl. logits of +-100', () => {
    expect(fixtures.focal.length).toBeGreaterThan(0);
    for (const f of fixtures.focal) {
      const input = {
        logits: tf.tensor2d(f.logits, [f.n, f.c]),
        labels: tf.tensor1d(f.labels, 'int32'),
        labelWeights: tf.tensor1d(f.weights),
      };
      const options = { gamma: f.gamma, alpha: f.alpha };
      expectClose(sigmoidFocalLoss(input, { ...options, reduction: 'none' }).dataSync(), f.loss, 1e-5, 1e-7);
      const { value, grads } = tf.valueAndGrads((z: tf.Tensor) =>
        sigmoidFocalLoss({ ...input, logits: z as tf.Tensor2D }, { ...options, avgFactor: f.avgFactor }),
      )([input.logits]);
      expectClose(value.dataSync(), f.total);
      expectClose(grads[0]!.dataSync(), f.grad, 1e-4, 1e-7);
    }
  });

  it('alignedBoxIoU and giouLoss equal torchvision box_iou and generalized_box_iou_loss', () => {
    const b = fixtures.boxes;
    const p = tf.tensor2d(b.boxes1);
    const q = tf.tensor2d(b.boxes2);
    expectClose(alignedBoxIoU(p, q).dataSync(), b.iou, 1e-5, 1e-7);
    // torchvision adds eps to the denominators where mmdetection floors them: equal up to ~1e-7 here
    expectClose(giouLoss(p, q, { reduction: 'none' }).dataSync(), b.giouLoss, 1e-5, 1e-6);
    const [g1, g2] = tf.grads((x: tf.Tensor, y: tf.Tensor) => giouLoss(x as tf.Tensor2D, y as tf.Tensor2D, { reduction: 'sum' }))([p, q]);
    expectClose(g1!.dataSync(), b.giouGrad1.flat(), 1e-3, 1e-6);
    expectClose(g2!.dataSync(), b.giouGrad2.flat(), 1e-3, 1e-6);
  });
});
