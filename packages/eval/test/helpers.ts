import type { CocoAnnotation, CocoDataset, CocoDetection } from '../src/index.js';

/** Small builders so each hand-worked case reads as a list of boxes. */
export function gtBox(
  id: number,
  imageId: number,
  bbox: [number, number, number, number],
  extra: Partial<CocoAnnotation> = {},
): CocoAnnotation {
  return { id, image_id: imageId, category_id: 1, bbox, area: bbox[2] * bbox[3], iscrowd: 0, ...extra };
}

export function det(imageId: number, bbox: [number, number, number, number], score: number, categoryId = 1): CocoDetection {
  return { image_id: imageId, category_id: categoryId, bbox, score };
}

export function dataset(annotations: CocoAnnotation[], imageIds: number[] = [1], categoryIds: number[] = [1]): CocoDataset {
  return {
    images: imageIds.map((id) => ({ id })),
    categories: categoryIds.map((id) => ({ id, name: `c${id}` })),
    annotations,
  };
}

/** Mean of the 101 sampled precisions for one (t, k, a, m) cell. */
export function precisionCurve(result: { precision: Float64Array; counts: readonly number[] }, t: number, k: number, a: number, m: number): number[] {
  const [, R, K, A, M] = result.counts as [number, number, number, number, number];
  return Array.from({ length: R }, (_, r) => result.precision[(((t * R + r) * K + k) * A + a) * M + m]!);
}

export function recallAt(result: { recall: Float64Array; counts: readonly number[] }, t: number, k: number, a: number, m: number): number {
  const [, , K, A, M] = result.counts as [number, number, number, number, number];
  return result.recall[((t * K + k) * A + a) * M + m]!;
}
