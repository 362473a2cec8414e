import type { SizeHW } from '../boxes/check-options.js';
import type { DeltaXYWHCoder } from '../boxes/delta-xywh-coder.js';

/**
 * Decodes the box of one prior of one image from a level's read-back regression [B, n_l, 4]
 * into `out[offset..offset + 4)` (x1, y1, x2, y2).
 */
export type BoxDecoder = (regression: Float32Array, image: number, prior: number, out: Float32Array, offset: number) => void;

const f = Math.fround;
const clip = (v: number, hi: number): number => (v < 0 ? 0 : v > hi ? hi : v);

// Writes x1, y1, x2, y2 at out[offset..], clipped to the image (as the coders' clipBorder) when given.
function writeBox(out: Float32Array, offset: number, x1: number, y1: number, x2: number, y2: number, clipTo: SizeHW | undefined): void {
  if (clipTo !== undefined) {
    const [height, width] = clipTo;
    x1 = clip(x1, width);
    x2 = clip(x2, width);
    y1 = clip(y1, height);
    y2 = clip(y2, height);
  }
  out[offset] = x1;
  out[offset + 1] = y1;
  out[offset + 2] = x2;
  out[offset + 3] = y2;
}

/**
 * `coder.decode(priors, deltas, imageSize)` for one prior on the CPU. Every step is rounded to
 * float32 in the order the tensor version computes it, so the boxes equal the tensor decoding
 * bit for bit wherever exp does (the cpu backend's exp is Math.exp rounded, the wasm backend's
 * is its own expf: at most a last-bit difference in the width and height).
 *
 * Why: post-processing needs the boxes of at most nmsPre priors per level, and decoding all of
 * them as tensors (unstack/stack of [B, n_l, 4]) was a quarter of RetinaNet's inference time.
 */
export function deltaBoxDecoder(coder: DeltaXYWHCoder, priors: Float32Array, numPriors: number, imageSize: SizeHW): BoxDecoder {
  if (priors.length !== 4 * numPriors) throw new Error(`deltaBoxDecoder: priors have length ${priors.length}, expected 4 x ${numPriors}`);
  const [mx, my, mw, mh] = coder.means.map(f) as [number, number, number, number];
  const [sx, sy, sw, sh] = coder.stds.map(f) as [number, number, number, number];
  const maxRatio = f(coder.maxRatio);
  const ctrClamp = f(coder.ctrClamp);
  const clipBorder = coder.clipBorder;
  const addCtrClamp = coder.addCtrClamp;
  return (regression, image, prior, out, offset) => {
    const r = 4 * (image * numPriors + prior);
    const p = 4 * prior;
    const dx = f(f(regression[r]! * sx) + mx);
    const dy = f(f(regression[r + 1]! * sy) + my);
    let dw = f(f(regression[r + 2]! * sw) + mw);
    let dh = f(f(regression[r + 3]! * sh) + mh);
    const x1 = priors[p]!, y1 = priors[p + 1]!, x2 = priors[p + 2]!, y2 = priors[p + 3]!;
    const px = f(f(x1 + x2) * 0.5);
    const py = f(f(y1 + y2) * 0.5);
    const pw = f(x2 - x1);
    const ph = f(y2 - y1);
    let shiftX = f(pw * dx);
    let shiftY = f(ph * dy);
    if (addCtrClamp) {
      shiftX = Math.min(Math.max(shiftX, -ctrClamp), ctrClamp);
      shiftY = Math.min(Math.max(shiftY, -ctrClamp), ctrClamp);
      dw = Math.min(dw, maxRatio);
      dh = Math.min(dh, maxRatio);
    } else {
      dw = Math.min(Math.max(dw, -maxRatio), maxRatio);
      dh = Math.min(Math.max(dh, -maxRatio), maxRatio);
    }
    const cx = f(px + shiftX);
    const cy = f(py + shiftY);
    const halfW = f(f(pw * f(Math.exp(dw))) * 0.5);
    const halfH = f(f(ph * f(Math.exp(dh))) * 0.5);
    writeBox(out, offset, f(cx - halfW), f(cy - halfH), f(cx + halfW), f(cy + halfH), clipBorder ? imageSize : undefined);
  };
}

export interface DistanceBoxDecoderOptions {
  /** Points [n_l * pointDim] (x, y first), e.g. a PriorTensors `arrays` entry. */
  points: Float32Array;
  pointDim: number;
  numPriors: number;
  /** Distances are in units of this stride (multiplied first), as DistanceCoder's `stride`. */
  stride?: number;
  /** Clip to the image when given (DistanceCoder's clipBorder). */
  maxShape?: SizeHW;
}

/**
 * `DistanceCoder.decode(points, distances, { stride, maxShape })` for one prior on the CPU, rounded
 * to float32 step by step as the tensor version: the same boxes bit for bit.
 */
export function distanceBoxDecoder(options: DistanceBoxDecoderOptions): BoxDecoder {
  const { points, pointDim, numPriors, stride, maxShape } = options;
  if (points.length !== pointDim * numPriors) throw new Error(`distanceBoxDecoder: points have length ${points.length}, expected ${pointDim} x ${numPriors}`);
  const s = stride === undefined ? 1 : f(stride);
  return (regression, image, prior, out, offset) => {
    const r = 4 * (image * numPriors + prior);
    const px = points[pointDim * prior]!;
    const py = points[pointDim * prior + 1]!;
    writeBox(out, offset, f(px - f(regression[r]! * s)), f(py - f(regression[r + 1]! * s)), f(px + f(regression[r + 2]! * s)), f(py + f(regression[r + 3]! * s)), maxShape);
  };
}
