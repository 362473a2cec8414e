/**
 * CPU-side helpers of the detectors whose classification target is a prediction's IoU (GFL's
 * quality focal loss, VFNet's varifocal loss): find the positive priors, pick their rows, and the
 * IoU of each predicted box with its own gt. The prediction is read back once per step, so these
 * targets carry no gradient (mmdetection's `.detach()`).
 */

/** Indices of the priors whose label is a foreground class in [0, numClasses). */
export function foregroundIndices(labels: Int32Array, numClasses: number): number[] {
  const out: number[] = [];
  labels.forEach((label, i) => {
    if (label >= 0 && label < numClasses) out.push(i);
  });
  return out;
}

/** Rows `indices` of a flat array with `width` values per row, as a new Float32Array. */
export function pickRows(values: Float32Array, indices: readonly number[], width: number): Float32Array {
  const out = new Float32Array(indices.length * width);
  indices.forEach((row, k) => {
    if (!Number.isInteger(row) || row < 0 || (row + 1) * width > values.length) {
      throw new Error(`pickRows: row ${row} is outside an array of ${values.length / width} rows`);
    }
    out.set(values.subarray(row * width, (row + 1) * width), k * width);
  });
  return out;
}

/**
 * IoU of box i of `a` with box i of `b` (flat x1, y1, x2, y2; mmdetection's
 * `bbox_overlaps(is_aligned=True)`), in float64, union floored at `eps`, rounded to float32 once.
 * A degenerate predicted box (x2 < x1) has zero intersection and area clamped at 0.
 */
export function alignedIoUArray(a: Float32Array, b: Float32Array, eps = 1e-6): Float32Array {
  if (a.length !== b.length || a.length % 4 !== 0) {
    throw new Error(`alignedIoUArray: a and b must hold the same number of boxes (flat x1, y1, x2, y2), got ${a.length} and ${b.length} values`);
  }
  const n = a.length / 4;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const [ax1, ay1, ax2, ay2] = [a[4 * i]!, a[4 * i + 1]!, a[4 * i + 2]!, a[4 * i + 3]!];
    const [bx1, by1, bx2, by2] = [b[4 * i]!, b[4 * i + 1]!, b[4 * i + 2]!, b[4 * i + 3]!];
    const iw = Math.max(Math.min(ax2, bx2) - Math.max(ax1, bx1), 0);
    const ih = Math.max(Math.min(ay2, by2) - Math.max(ay1, by1), 0);
    const inter = iw * ih;
    const areaA = Math.max(ax2 - ax1, 0) * Math.max(ay2 - ay1, 0);
    const areaB = Math.max(bx2 - bx1, 0) * Math.max(by2 - by1, 0);
    out[i] = inter / Math.max(areaA + areaB - inter, eps);
  }
  return out;
}
