/**
 * IoU of D detections against G ground-truth boxes, all [x, y, w, h], written row-major [D, G]
 * into `out`. For a crowd box the denominator is the detection's own area (intersection over the
 * detection), as pycocotools' bbIou does. The arithmetic follows bbIou operation by operation so
 * results are bit-identical: width/height of the overlap from min(x + w) - max(x), and no overlap
 * (<= 0) gives exactly 0.
 */
export function boxIou(
  dtBox: Float64Array,
  dtIndex: Int32Array,
  dtFrom: number,
  numDt: number,
  gtBox: Float64Array,
  gtFrom: number,
  numGt: number,
  gtCrowd: Uint8Array,
  out: Float64Array,
): void {
  for (let d = 0; d < numDt; d++) {
    const p = 4 * dtIndex[dtFrom + d]!;
    const dx = dtBox[p]!;
    const dy = dtBox[p + 1]!;
    const dw = dtBox[p + 2]!;
    const dh = dtBox[p + 3]!;
    const dtArea = dw * dh;
    const row = d * numGt;
    for (let g = 0; g < numGt; g++) {
      const q = 4 * (gtFrom + g);
      const gx = gtBox[q]!;
      const gy = gtBox[q + 1]!;
      const gw = gtBox[q + 2]!;
      const gh = gtBox[q + 3]!;
      out[row + g] = 0;
      const w = Math.min(dw + dx, gw + gx) - Math.max(dx, gx);
      if (w <= 0) continue;
      const h = Math.min(dh + dy, gh + gy) - Math.max(dy, gy);
      if (h <= 0) continue;
      const inter = w * h;
      const union = gtCrowd[gtFrom + g] === 1 ? dtArea : dtArea + gw * gh - inter;
      out[row + g] = inter / union;
    }
  }
}
