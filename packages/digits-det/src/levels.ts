/** FPN strides of P3..P7 (levels 0..4). */
export const STRIDES = [8, 16, 32, 64, 128] as const;

/**
 * The pyramid level an object lands on under an ATSS-style, single-square-anchor detector whose
 * anchor on level l has side `anchorScale * stride_l`: the level whose anchor side is nearest to
 * the object's size in log scale,
 *
 *   level = clamp(round(log2(sqrt(w * h) / (anchorScale * 8))), 0, 4).
 *
 * A square object centred on an anchor has its highest IoU with the anchor of nearest log-size,
 * and ATSS keeps the candidates whose IoU is above mean + std, so most of an object's positives
 * sit on this level. mmdetection's ATSS uses anchorScale 8 for 800-1333 px images; scaled to the
 * 128 px quick preset that is ~1, and 2 for the 320 px full preset (`anchorScaleFor`).
 */
export function levelOf(width: number, height: number, anchorScale: number): number {
  if (!(width > 0 && height > 0)) throw new Error(`levelOf: box size must be positive, got ${width}x${height}`);
  if (!(anchorScale > 0)) throw new Error(`levelOf: anchorScale must be positive, got ${anchorScale}`);
  const level = Math.round(Math.log2(Math.sqrt(width * height) / (anchorScale * STRIDES[0])));
  return Math.min(Math.max(level, 0), STRIDES.length - 1);
}

/** Object counts per level (P3..P7) of `[x, y, w, h]` boxes under `levelOf`. */
export function objectsPerLevel(boxes: Iterable<readonly number[]>, anchorScale: number): number[] {
  const counts = new Array<number>(STRIDES.length).fill(0);
  for (const b of boxes) counts[levelOf(b[2]!, b[3]!, anchorScale)]!++;
  return counts;
}
