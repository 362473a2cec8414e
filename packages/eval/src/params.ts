/**
 * numpy.linspace(start, stop, num) value by value: i * step + start, with the last element set to
 * `stop` exactly. Equality with numpy's bits matters: a ground-truth IoU of exactly a threshold
 * matches or not depending on the last bit, and the summary finds 0.5 and 0.75 by equality.
 */
export function linspace(start: number, stop: number, num: number): Float64Array {
  const out = new Float64Array(num);
  if (num === 1) {
    out[0] = start;
    return out;
  }
  const step = (stop - start) / (num - 1);
  for (let i = 0; i < num; i++) out[i] = i * step + start;
  out[num - 1] = stop;
  return out;
}

/** pycocotools' defaults for box evaluation (Params.setDetParams). */
export const IOU_THRESHOLDS = linspace(0.5, 0.95, Math.round((0.95 - 0.5) / 0.05) + 1);
export const RECALL_THRESHOLDS = linspace(0, 1, Math.round((1 - 0) / 0.01) + 1);
export const AREA_RANGES: readonly (readonly [number, number])[] = [
  [0, 1e5 ** 2],
  [0, 32 ** 2],
  [32 ** 2, 96 ** 2],
  [96 ** 2, 1e5 ** 2],
];
export const AREA_LABELS = ['all', 'small', 'medium', 'large'] as const;
export const DEFAULT_MAX_DETS: readonly [number, number, number] = [1, 10, 100];
