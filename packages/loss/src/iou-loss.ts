import * as tf from '@tensorflow/tfjs-core';
import { alignedBoxIoU } from './box-iou.js';
import { expectNumber, expectVector, rejectUnknownKeys } from './checks.js';
import { checkReduceOptions, REDUCE_KEYS, reduceLoss, type ReduceOptions } from './reduce.js';

export interface BoxLossOptions extends ReduceOptions {
  /** [N] float32 weights; default all ones. */
  weights?: tf.Tensor1D;
}

export interface IoULossOptions extends BoxLossOptions {
  /** 'log' (-log IoU, mmdetection's default), 'linear' (1 - IoU) or 'square' (1 - IoU^2). */
  mode?: 'log' | 'linear' | 'square';
  /** IoU floor (and union floor), default 1e-6. */
  eps?: number;
}

function weighted(loss: tf.Tensor, options: BoxLossOptions): tf.Tensor {
  return options.weights === undefined ? loss : tf.mul(loss, options.weights);
}

function checkBoxLoss(pred: tf.Tensor2D, options: BoxLossOptions, where: string): void {
  if (options.weights !== undefined) expectVector(options.weights, pred.shape[0], 'weights', where);
}

/**
 * IoU loss as mmdetection's `iou_loss`: IoU = max(alignedBoxIoU(pred, target), eps), then
 * -log IoU, 1 - IoU or 1 - IoU^2.
 *
 * @param pred [N, 4] predicted boxes x1, y1, x2, y2.
 * @param target [N, 4] target boxes.
 * @returns a new tensor owned by the caller: [N] for reduction 'none', else a scalar.
 */
export function iouLoss(pred: tf.Tensor2D, target: tf.Tensor2D, options: IoULossOptions = {}): tf.Tensor {
  const where = 'iouLoss';
  rejectUnknownKeys(options, ['mode', 'eps', 'weights', ...REDUCE_KEYS], where);
  const mode = options.mode ?? 'log';
  if (mode !== 'log' && mode !== 'linear' && mode !== 'square') {
    throw new Error(`${where}: mode must be 'log', 'linear' or 'square', got '${String(mode)}'`);
  }
  const eps = expectNumber(options.eps ?? 1e-6, 'eps', where, 0, true);
  checkBoxLoss(pred, options, where);
  const { reduction } = checkReduceOptions(where, options);
  return tf.tidy(() => {
    const iou = tf.maximum(alignedBoxIoU(pred, target, 'iou', eps), eps);
    const loss = mode === 'log' ? tf.neg(tf.log(iou)) : tf.sub(1, mode === 'linear' ? iou : tf.square(iou));
    return reduceLoss(weighted(loss, options), reduction, options.avgFactor);
  });
}

export interface GIoULossOptions extends BoxLossOptions {
  /** Union and enclosing-area floor, default 1e-7 (mmdetection's GIoULoss). */
  eps?: number;
}

/**
 * GIoU loss as mmdetection's `giou_loss`: 1 - GIoU(pred, target).
 *
 * @returns a new tensor owned by the caller: [N] for reduction 'none', else a scalar.
 */
export function giouLoss(pred: tf.Tensor2D, target: tf.Tensor2D, options: GIoULossOptions = {}): tf.Tensor {
  const where = 'giouLoss';
  rejectUnknownKeys(options, ['eps', 'weights', ...REDUCE_KEYS], where);
  const eps = expectNumber(options.eps ?? 1e-7, 'eps', where, 0, true);
  checkBoxLoss(pred, options, where);
  const { reduction } = checkReduceOptions(where, options);
  return tf.tidy(() => {
    const loss = tf.sub(1, alignedBoxIoU(pred, target, 'giou', eps));
    return reduceLoss(weighted(loss, options), reduction, options.avgFactor);
  });
}
