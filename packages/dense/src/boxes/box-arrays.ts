import { checkEps, checkIoUMode, type IoUMode } from './iou.js';

// Plain-array twins of the tensor box ops, for CPU-side work that carries no gradient
// (assigners, post-processing bookkeeping). Boxes are flat Float32Arrays of N * 4.

function checkBoxArray(where: string, name: string, boxes: Float32Array): number {
  if (!(boxes instanceof Float32Array) || boxes.length % 4 !== 0) {
    throw new Error(`${where}: ${name} must be a Float32Array of length N * 4, got length ${boxes?.length}`);
  }
  return boxes.length / 4;
}

/** Pairwise overlaps of a (N boxes) and b (M boxes) -> row-major N * M, same semantics as `boxIoU`. */
export function boxIoUArray(a: Float32Array, b: Float32Array, mode: IoUMode = 'iou', eps = 1e-6): Float32Array {
  const where = 'boxIoUArray';
  const n = checkBoxArray(where, 'a', a);
  const m = checkBoxArray(where, 'b', b);
  checkIoUMode(where, mode);
  checkEps(where, eps);
  const out = new Float32Array(n * m);
  for (let i = 0; i < n; i++) {
    const ax1 = a[4 * i]!, ay1 = a[4 * i + 1]!, ax2 = a[4 * i + 2]!, ay2 = a[4 * i + 3]!;
    const areaA = (ax2 - ax1) * (ay2 - ay1);
    for (let j = 0; j < m; j++) {
      const bx1 = b[4 * j]!, by1 = b[4 * j + 1]!, bx2 = b[4 * j + 2]!, by2 = b[4 * j + 3]!;
      const iw = Math.max(Math.min(ax2, bx2) - Math.max(ax1, bx1), 0);
      const ih = Math.max(Math.min(ay2, by2) - Math.max(ay1, by1), 0);
      const inter = iw * ih;
      const union = Math.max(mode === 'iof' ? areaA : areaA + (bx2 - bx1) * (by2 - by1) - inter, eps);
      let v = inter / union;
      if (mode === 'giou') {
        const ew = Math.max(Math.max(ax2, bx2) - Math.min(ax1, bx1), 0);
        const eh = Math.max(Math.max(ay2, by2) - Math.min(ay1, by1), 0);
        const enclose = Math.max(ew * eh, eps);
        v -= (enclose - union) / enclose;
      }
      out[i * m + j] = v;
    }
  }
  return out;
}

/** Areas of N boxes -> N. */
export function boxAreaArray(boxes: Float32Array): Float32Array {
  const n = checkBoxArray('boxAreaArray', 'boxes', boxes);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (boxes[4 * i + 2]! - boxes[4 * i]!) * (boxes[4 * i + 3]! - boxes[4 * i + 1]!);
  return out;
}

/** Centres of N boxes -> N * 2 (cx, cy). */
export function boxCentersArray(boxes: Float32Array): Float32Array {
  const n = checkBoxArray('boxCentersArray', 'boxes', boxes);
  const out = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    out[2 * i] = (boxes[4 * i]! + boxes[4 * i + 2]!) * 0.5;
    out[2 * i + 1] = (boxes[4 * i + 1]! + boxes[4 * i + 3]!) * 0.5;
  }
  return out;
}
