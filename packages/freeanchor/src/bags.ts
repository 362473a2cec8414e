import { boxIoUArray } from '@hpf/dense';

/**
 * FreeAnchor's "assignment" of one image, both halves on plain arrays (no gradient): the bag of
 * each object (the `topk` anchors with the highest IoU against it) and the box probability
 * P{a_j in A+} per (anchor, class) that discounts the negative bag loss.
 */

/**
 * Per object, the indices of the `topk` anchors with the highest IoU (mmdetection `torch.topk` over
 * `bbox_overlaps(gt, anchors)`). Ties go to the lower anchor index. Returns G * topk indices,
 * object-major, each bag in descending IoU order. Throws when there are fewer than `topk` anchors.
 */
export function anchorBags(anchors: Float32Array, gtBoxes: Float32Array, topk: number): Int32Array {
  const m = anchors.length / 4;
  const g = gtBoxes.length / 4;
  if (!Number.isInteger(topk) || topk < 1) throw new Error(`anchorBags: topk must be a positive integer, got ${topk}`);
  if (g > 0 && m < topk) throw new Error(`anchorBags: a bag needs ${topk} anchors but the image has only ${m}`);
  const iou = boxIoUArray(gtBoxes, anchors);
  const bags = new Int32Array(g * topk);
  const order = Array.from({ length: m }, (_, j) => j);
  for (let i = 0; i < g; i++) {
    const row = iou.subarray(i * m, (i + 1) * m);
    // A full sort is O(M log M) per object, a few ms at the sizes trained here; clearer than a heap.
    order.sort((a, b) => row[b]! - row[a]! || a - b);
    for (let k = 0; k < topk; k++) bags[i * topk + k] = order[k]!;
    order.sort((a, b) => a - b);
  }
  return bags;
}

/**
 * P{a_j in A+}: for every anchor j and class c, the largest saturated-linear IoU between anchor j's
 * predicted box and an object of class c: clamp((IoU - t1) / (t2 - t1), 0, 1), t1 = `bboxThr`,
 * t2 = max(that object's best IoU over all predicted boxes, t1 + 1e-12). Returns M * numClasses
 * values (anchor-major); zeros without objects.
 */
export function boxProbability(predBoxes: Float32Array, gtBoxes: Float32Array, gtLabels: Int32Array, numClasses: number, bboxThr: number): Float32Array {
  const m = predBoxes.length / 4;
  const g = gtBoxes.length / 4;
  const out = new Float32Array(m * numClasses);
  if (g === 0) return out;
  const iou = boxIoUArray(gtBoxes, predBoxes);
  for (let i = 0; i < g; i++) {
    const row = iou.subarray(i * m, (i + 1) * m);
    let best = -Infinity;
    for (let j = 0; j < m; j++) best = Math.max(best, row[j]!);
    const t2 = Math.max(best, bboxThr + 1e-12);
    const c = gtLabels[i]!;
    for (let j = 0; j < m; j++) {
      const p = Math.min(Math.max((row[j]! - bboxThr) / (t2 - bboxThr), 0), 1);
      if (p > out[j * numClasses + c]!) out[j * numClasses + c] = p;
    }
  }
  return out;
}
