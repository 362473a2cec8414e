/**
 * FCOS centerness of a point with distances (l, t, r, b) to its box's sides:
 * sqrt(min(l, r) / max(l, r) * min(t, b) / max(t, b)), in [0, 1] (FCOS, ATSS, VFNet).
 * Float64 arithmetic, rounded to float32 once.
 */
export function centernessFromDistances(l: number, t: number, r: number, b: number): number {
  const lr = Math.min(l, r) / Math.max(l, r);
  const tb = Math.min(t, b) / Math.max(t, b);
  const value = Math.sqrt(lr * tb);
  return Number.isFinite(value) ? value : 0;
}

/**
 * Centerness targets of N points (flat x, y) against N boxes (flat x1, y1, x2, y2): one per pair.
 * A point outside its box has a non-positive distance; mmdetection clamps the product at 0 through
 * the sqrt, so such points get 0 here too.
 */
export function centernessTargets(points: Float32Array, boxes: Float32Array): Float32Array {
  const n = points.length / 2;
  if (boxes.length !== 4 * n) throw new Error(`centernessTargets: ${n} points but ${boxes.length / 4} boxes`);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const x = points[2 * i]!;
    const y = points[2 * i + 1]!;
    const l = x - boxes[4 * i]!;
    const t = y - boxes[4 * i + 1]!;
    const r = boxes[4 * i + 2]! - x;
    const b = boxes[4 * i + 3]! - y;
    out[i] = Math.min(l, t, r, b) > 0 ? centernessFromDistances(l, t, r, b) : 0;
  }
  return out;
}
