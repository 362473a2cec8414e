import * as tf from '@tensorflow/tfjs-core';
import { checkKnownOptions, checkPositive, checkFinite, type SizeHW } from './check-options.js';
import { checkLastDim, checkMatrix } from './shape-checks.js';

// Boxes are [..., 4] = (x1, y1, x2, y2) in input pixels; widths are x2 - x1 (no +1),
// as in torchvision and mmdetection v2+. Every function returns a new tensor the caller owns.

/** Area (x2 - x1) * (y2 - y1) of boxes [..., 4] -> [...]. Inverted boxes give a negative area. */
export function boxArea(boxes: tf.Tensor): tf.Tensor {
  checkLastDim('boxArea', 'boxes', boxes, 4);
  return tf.tidy(() => {
    const [x1, y1, x2, y2] = tf.unstack(boxes, boxes.rank - 1);
    return tf.mul(tf.sub(x2!, x1!), tf.sub(y2!, y1!));
  });
}

/** Box centres [..., 4] -> [..., 2] = (cx, cy). */
export function boxCenters(boxes: tf.Tensor): tf.Tensor {
  checkLastDim('boxCenters', 'boxes', boxes, 4);
  return tf.tidy(() => {
    const axis = boxes.rank - 1;
    const [lt, rb] = tf.split(boxes, 2, axis);
    return tf.mul(tf.add(lt!, rb!), 0.5);
  });
}

/** Euclidean distances between points a [N, 2] and b [M, 2] -> [N, M]. */
export function centerDistance(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  checkMatrix('centerDistance', 'a', a, 2);
  checkMatrix('centerDistance', 'b', b, 2);
  return tf.tidy(() => {
    const diff = tf.sub(tf.expandDims(a, 1), tf.expandDims(b, 0));
    return tf.sqrt(tf.sum(tf.square(diff), -1)) as tf.Tensor2D;
  });
}

/** Clamps x to [0, width] and y to [0, height]: boxes [..., 4], imageSize [height, width]. */
export function clipBoxes<T extends tf.Tensor>(boxes: T, imageSize: SizeHW): T {
  checkLastDim('clipBoxes', 'boxes', boxes, 4);
  const [h, w] = imageSize;
  checkPositive('clipBoxes', 'imageSize[0]', h);
  checkPositive('clipBoxes', 'imageSize[1]', w);
  return tf.tidy(() => {
    const [x1, y1, x2, y2] = tf.unstack(boxes, boxes.rank - 1);
    return tf.stack(
      [tf.clipByValue(x1!, 0, w), tf.clipByValue(y1!, 0, h), tf.clipByValue(x2!, 0, w), tf.clipByValue(y2!, 0, h)],
      boxes.rank - 1,
    ) as T;
  });
}

export interface ScaleBoxesOptions {
  /** Resize factor that was applied to the original image: one number or [sx, sy]. */
  scale: number | readonly [number, number];
  /** Padding offset [ox, oy] added after resizing (letterbox left/top padding). Default [0, 0]. */
  offset?: readonly [number, number];
  /** Original image [height, width]: clip the mapped boxes to it. */
  clipTo?: SizeHW;
}

/**
 * Maps boxes from the network input back to the original image after a letterbox resize
 * x_input = x_orig * scale + offset, i.e. x_orig = (x_input - offset) / scale.
 */
export function scaleBoxes<T extends tf.Tensor>(boxes: T, options: ScaleBoxesOptions): T {
  const where = 'scaleBoxes';
  checkKnownOptions(where, options, ['scale', 'offset', 'clipTo']);
  checkLastDim(where, 'boxes', boxes, 4);
  const [sx, sy] = typeof options.scale === 'number' ? [options.scale, options.scale] : options.scale;
  checkPositive(where, 'scale[0]', sx);
  checkPositive(where, 'scale[1]', sy);
  const [ox, oy] = options.offset ?? [0, 0];
  checkFinite(where, 'offset[0]', ox);
  checkFinite(where, 'offset[1]', oy);
  return tf.tidy(() => {
    const shift = tf.tensor1d([ox, oy, ox, oy], 'float32');
    const factor = tf.tensor1d([sx, sy, sx, sy], 'float32');
    const mapped = tf.div(tf.sub(boxes, shift), factor) as T;
    return options.clipTo ? clipBoxes(mapped, options.clipTo) : mapped;
  });
}
