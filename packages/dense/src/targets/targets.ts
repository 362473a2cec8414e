import type { DetectorTarget } from '../detector/types.js';

/** Throws naming the image and field unless `targets` fits a batch of `batch` images and `numClasses`. */
export function checkTargets(where: string, targets: readonly DetectorTarget[], batch: number, numClasses: number): void {
  if (!Array.isArray(targets) || targets.length !== batch) {
    throw new Error(`${where}: expected ${batch} targets (one per image), got ${Array.isArray(targets) ? targets.length : typeof targets}`);
  }
  targets.forEach((t, i) => {
    if (!(t.boxes instanceof Float32Array) || t.boxes.length % 4 !== 0) throw new Error(`${where}: targets[${i}].boxes must be a Float32Array of length 4G`);
    if (!(t.labels instanceof Int32Array) || t.labels.length * 4 !== t.boxes.length) {
      throw new Error(`${where}: targets[${i}].labels must be an Int32Array with one label per box (${t.boxes.length / 4} boxes)`);
    }
    if (!(t.ignoreBoxes instanceof Float32Array) || t.ignoreBoxes.length % 4 !== 0) {
      throw new Error(`${where}: targets[${i}].ignoreBoxes must be a Float32Array of length 4K`);
    }
    t.labels.forEach((label: number, g: number) => {
      if (!Number.isInteger(label) || label < 0 || label >= numClasses) {
        throw new Error(`${where}: targets[${i}].labels[${g}] = ${label} is not a class in [0, ${numClasses})`);
      }
    });
    for (let g = 0; g < t.boxes.length; g += 4) {
      const [x1, y1, x2, y2] = [t.boxes[g]!, t.boxes[g + 1]!, t.boxes[g + 2]!, t.boxes[g + 3]!];
      if (![x1, y1, x2, y2].every(Number.isFinite) || x2 <= x1 || y2 <= y1) {
        throw new Error(`${where}: targets[${i}].boxes[${g / 4}] = [${x1}, ${y1}, ${x2}, ${y2}] is not a box with x2 > x1 and y2 > y1`);
      }
    }
  });
}

/**
 * Marks as ignored (label -1) the non-positive priors whose centre (flat x, y per prior) lies inside
 * a crowd box. Used by the point/centre-based assigners (FCOS, ATSS), which have no IoF rule of their
 * own; returns how many priors it changed. Positives stay positive.
 */
export function ignoreCentersInBoxes(labels: Int32Array, centers: Float32Array, ignoreBoxes: Float32Array, numClasses: number): number {
  let changed = 0;
  if (ignoreBoxes.length === 0) return 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== numClasses) continue;
    const x = centers[2 * i]!;
    const y = centers[2 * i + 1]!;
    for (let k = 0; k < ignoreBoxes.length; k += 4) {
      if (x > ignoreBoxes[k]! && x < ignoreBoxes[k + 2]! && y > ignoreBoxes[k + 1]! && y < ignoreBoxes[k + 3]!) {
        labels[i] = -1;
        changed++;
        break;
      }
    }
  }
  return changed;
}

/** Centres of flat x1, y1, x2, y2 boxes (float64 sums rounded once), or the points themselves. */
export function priorCenters(priors: Float32Array, priorDim: number): Float32Array {
  const n = priors.length / priorDim;
  const out = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    if (priorDim === 4) {
      out[2 * i] = (priors[4 * i]! + priors[4 * i + 2]!) / 2;
      out[2 * i + 1] = (priors[4 * i + 1]! + priors[4 * i + 3]!) / 2;
    } else {
      out[2 * i] = priors[priorDim * i]!;
      out[2 * i + 1] = priors[priorDim * i + 1]!;
    }
  }
  return out;
}
