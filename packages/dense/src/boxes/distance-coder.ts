import * as tf from '@tensorflow/tfjs-core';
import { checkKnownOptions, checkPositive, type SizeHW } from './check-options.js';
import { checkLastDim } from './shape-checks.js';

export interface DistanceCoderOptions {
  /** Clip decoded boxes to `maxShape` when one is given. Default true. */
  clipBorder?: boolean;
}

export interface DistanceEncodeOptions {
  /**
   * Divide distances by the prior's stride (GFL/TOOD regress in stride units): a number,
   * or a tensor broadcastable to the distances without their last axis (e.g. [N] per prior).
   */
  stride?: number | tf.Tensor;
  /** Clamp encoded distances to [0, maxDistance - eps] (mmdetection's max_dis; after stride normalisation). */
  maxDistance?: number;
  /** Margin below maxDistance. Default 0.1 (mmdetection's eps). */
  eps?: number;
}

export interface DistanceDecodeOptions {
  /** Multiply predicted distances by this stride first (inverse of the encode option). */
  stride?: number | tf.Tensor;
  /** Image [height, width] to clip to (when clipBorder). */
  maxShape?: SizeHW;
}

/**
 * mmdetection's DistancePointBBoxCoder: a point (px, py) and a box are related by the
 * distances (left, top, right, bottom) = (px - x1, py - y1, x2 - px, y2 - py).
 * Points are [..., 2] (extra columns such as strides from `withStride` points are ignored
 * when the last dimension is 4: only x, y are read).
 */
export class DistanceCoder {
  readonly clipBorder: boolean;

  constructor(options: DistanceCoderOptions = {}) {
    checkKnownOptions('DistanceCoder', options, ['clipBorder']);
    this.clipBorder = options.clipBorder ?? true;
  }

  /** points [..., 2|4], boxes [..., 4] -> distances [..., 4] (ltrb). Caller owns the result. */
  encode(points: tf.Tensor, boxes: tf.Tensor, options: DistanceEncodeOptions = {}): tf.Tensor {
    const where = 'DistanceCoder.encode';
    checkKnownOptions(where, options, ['stride', 'maxDistance', 'eps']);
    checkPoints(where, points);
    checkLastDim(where, 'boxes', boxes, 4);
    const eps = options.eps ?? 0.1;
    if (options.maxDistance !== undefined) checkPositive(where, 'maxDistance', options.maxDistance);
    return tf.tidy(() => {
      const [px, py] = pointXY(points);
      const [x1, y1, x2, y2] = tf.unstack(boxes, boxes.rank - 1);
      let dist: tf.Tensor = tf.stack([tf.sub(px, x1!), tf.sub(py, y1!), tf.sub(x2!, px), tf.sub(y2!, py)], -1);
      if (options.stride !== undefined) dist = tf.div(dist, strideColumn(where, options.stride));
      if (options.maxDistance !== undefined) dist = tf.clipByValue(dist, 0, options.maxDistance - eps);
      return dist;
    });
  }

  /** points [..., 2|4], distances [..., 4] -> boxes [..., 4]. Caller owns the result. */
  decode(points: tf.Tensor, distances: tf.Tensor, options: DistanceDecodeOptions = {}): tf.Tensor {
    const where = 'DistanceCoder.decode';
    checkKnownOptions(where, options, ['stride', 'maxShape']);
    checkPoints(where, points);
    checkLastDim(where, 'distances', distances, 4);
    return tf.tidy(() => {
      const [px, py] = pointXY(points);
      const scaled = options.stride !== undefined ? tf.mul(distances, strideColumn(where, options.stride)) : distances;
      const [l, t, r, b] = tf.unstack(scaled, scaled.rank - 1);
      let x1 = tf.sub(px, l!);
      let y1 = tf.sub(py, t!);
      let x2 = tf.add(px, r!);
      let y2 = tf.add(py, b!);
      if (options.maxShape && this.clipBorder) {
        const [h, w] = options.maxShape;
        x1 = tf.clipByValue(x1, 0, w);
        x2 = tf.clipByValue(x2, 0, w);
        y1 = tf.clipByValue(y1, 0, h);
        y2 = tf.clipByValue(y2, 0, h);
      }
      return tf.stack([x1, y1, x2, y2], -1);
    });
  }
}

function checkPoints(where: string, points: tf.Tensor): void {
  const last = points.shape[points.rank - 1];
  if (points.rank < 1 || (last !== 2 && last !== 4)) {
    throw new Error(`${where}: points must have shape [..., 2] or [..., 4], got [${points.shape.join(', ')}]`);
  }
}

function pointXY(points: tf.Tensor): [tf.Tensor, tf.Tensor] {
  const cols = tf.unstack(points, points.rank - 1);
  return [cols[0]!, cols[1]!];
}

function strideColumn(where: string, stride: number | tf.Tensor): tf.Tensor | number {
  if (typeof stride === 'number') {
    checkPositive(where, 'stride', stride);
    return stride;
  }
  return tf.expandDims(stride, -1);
}
