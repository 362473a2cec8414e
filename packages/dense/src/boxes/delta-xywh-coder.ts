import * as tf from '@tensorflow/tfjs-core';
import { checkFinite, checkKnownOptions, checkPositive, type SizeHW } from './check-options.js';
import { checkLastDim } from './shape-checks.js';

type Vec4 = readonly [number, number, number, number];

export interface DeltaXYWHCoderOptions {
  /** Subtracted from encoded deltas (and added back on decode). Default [0, 0, 0, 0]. */
  means?: Vec4;
  /** Encoded deltas are divided by these. Default [1, 1, 1, 1]; RetinaNet uses [1, 1, 1, 1], Faster R-CNN [.1, .1, .2, .2]. */
  stds?: Vec4;
  /** |dw|, |dh| are clamped to |log(whRatioClip)| on decode. Default 16 / 1000. */
  whRatioClip?: number;
  /** mmdetection's add_ctr_clamp: clamp the centre shift (in pixels) to +-ctrClamp and dw/dh only from above. */
  addCtrClamp?: boolean;
  /** Centre-shift clamp in pixels when addCtrClamp. Default 32. */
  ctrClamp?: number;
  /** Clip decoded boxes to `maxShape` when one is given. Default true. */
  clipBorder?: boolean;
}

const KNOWN = ['means', 'stds', 'whRatioClip', 'addCtrClamp', 'ctrClamp', 'clipBorder'] as const;

/**
 * mmdetection's DeltaXYWHBBoxCoder (v2/v3 formulas, widths without +1).
 * Encode prior p and target g:
 *   dx = (gx - px) / pw, dy = (gy - py) / ph, dw = log(gw / pw), dh = log(gh / ph),
 *   deltas = ([dx, dy, dw, dh] - means) / stds.
 * Decode inverts it with dw, dh clamped (see options).
 * With means 0 and stds 1 this equals torchvision's BoxCoder with weights (1, 1, 1, 1)
 * (torchvision clamps dw, dh only from above).
 */
export class DeltaXYWHCoder {
  readonly means: Vec4;
  readonly stds: Vec4;
  readonly whRatioClip: number;
  readonly addCtrClamp: boolean;
  readonly ctrClamp: number;
  readonly clipBorder: boolean;

  constructor(options: DeltaXYWHCoderOptions = {}) {
    const where = 'DeltaXYWHCoder';
    checkKnownOptions(where, options, KNOWN);
    this.means = checkVec4(where, 'means', options.means ?? [0, 0, 0, 0], false);
    this.stds = checkVec4(where, 'stds', options.stds ?? [1, 1, 1, 1], true);
    this.whRatioClip = options.whRatioClip ?? 16 / 1000;
    checkPositive(where, 'whRatioClip', this.whRatioClip);
    this.addCtrClamp = options.addCtrClamp ?? false;
    this.ctrClamp = options.ctrClamp ?? 32;
    checkPositive(where, 'ctrClamp', this.ctrClamp);
    this.clipBorder = options.clipBorder ?? true;
  }

  /** The decode clamp on |dw|, |dh|: |log(whRatioClip)| = log(1000 / 16) by default. */
  get maxRatio(): number {
    return Math.abs(Math.log(this.whRatioClip));
  }

  /**
   * priors [..., 4] and targets [..., 4] (same shape, or priors [N, 4] broadcast against
   * targets [B, N, 4]) -> deltas of the broadcast shape. Caller owns the result.
   * A zero-width target gives dw = -Infinity, as in mmdetection.
   */
  encode(priors: tf.Tensor, targets: tf.Tensor): tf.Tensor {
    checkLastDim('DeltaXYWHCoder.encode', 'priors', priors, 4);
    checkLastDim('DeltaXYWHCoder.encode', 'targets', targets, 4);
    return tf.tidy(() => {
      const [px, py, pw, ph] = toCxCyWh(priors);
      const [gx, gy, gw, gh] = toCxCyWh(targets);
      const raw = [
        tf.div(tf.sub(gx, px), pw),
        tf.div(tf.sub(gy, py), ph),
        tf.log(tf.div(gw, pw)),
        tf.log(tf.div(gh, ph)),
      ];
      const deltas = tf.stack(raw, -1);
      return tf.div(tf.sub(deltas, tf.tensor1d([...this.means])), tf.tensor1d([...this.stds]));
    });
  }

  /**
   * priors [..., 4] and deltas [..., 4] (broadcasting as in `encode`) -> boxes. When
   * `maxShape` [height, width] is given and clipBorder is on, x is clamped to [0, width]
   * and y to [0, height]. Caller owns the result.
   */
  decode(priors: tf.Tensor, deltas: tf.Tensor, maxShape?: SizeHW): tf.Tensor {
    checkLastDim('DeltaXYWHCoder.decode', 'priors', priors, 4);
    checkLastDim('DeltaXYWHCoder.decode', 'deltas', deltas, 4);
    return tf.tidy(() => {
      const denorm = tf.add(tf.mul(deltas, tf.tensor1d([...this.stds])), tf.tensor1d([...this.means]));
      const [dx, dy, dw, dh] = tf.unstack(denorm, denorm.rank - 1);
      const [px, py, pw, ph] = toCxCyWh(priors);
      let shiftX = tf.mul(pw, dx!);
      let shiftY = tf.mul(ph, dy!);
      const maxRatio = this.maxRatio;
      let cdw: tf.Tensor;
      let cdh: tf.Tensor;
      if (this.addCtrClamp) {
        shiftX = tf.clipByValue(shiftX, -this.ctrClamp, this.ctrClamp);
        shiftY = tf.clipByValue(shiftY, -this.ctrClamp, this.ctrClamp);
        cdw = tf.minimum(dw!, maxRatio);
        cdh = tf.minimum(dh!, maxRatio);
      } else {
        cdw = tf.clipByValue(dw!, -maxRatio, maxRatio);
        cdh = tf.clipByValue(dh!, -maxRatio, maxRatio);
      }
      const cx = tf.add(px, shiftX);
      const cy = tf.add(py, shiftY);
      const halfW = tf.mul(tf.mul(pw, tf.exp(cdw)), 0.5);
      const halfH = tf.mul(tf.mul(ph, tf.exp(cdh)), 0.5);
      let x1 = tf.sub(cx, halfW);
      let y1 = tf.sub(cy, halfH);
      let x2 = tf.add(cx, halfW);
      let y2 = tf.add(cy, halfH);
      if (maxShape && this.clipBorder) {
        const [h, w] = maxShape;
        x1 = tf.clipByValue(x1, 0, w);
        x2 = tf.clipByValue(x2, 0, w);
        y1 = tf.clipByValue(y1, 0, h);
        y2 = tf.clipByValue(y2, 0, h);
      }
      return tf.stack([x1, y1, x2, y2], -1);
    });
  }
}

function toCxCyWh(boxes: tf.Tensor): [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor] {
  const [x1, y1, x2, y2] = tf.unstack(boxes, boxes.rank - 1);
  return [
    tf.mul(tf.add(x1!, x2!), 0.5),
    tf.mul(tf.add(y1!, y2!), 0.5),
    tf.sub(x2!, x1!),
    tf.sub(y2!, y1!),
  ];
}

function checkVec4(where: string, name: string, v: Vec4, positive: boolean): Vec4 {
  if (!Array.isArray(v) || v.length !== 4) throw new Error(`${where}: option '${name}' must have 4 numbers, got ${JSON.stringify(v)}`);
  v.forEach((x, i) => (positive ? checkPositive : checkFinite)(where, `${name}[${i}]`, x));
  return [v[0], v[1], v[2], v[3]];
}
