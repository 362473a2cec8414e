import type { CocoAnnotation, CocoDataset, CocoDetection } from './types.js';

/**
 * Boxes grouped by (category k, image i) into bucket k * numImages + i, members of bucket b at
 * [start[b], start[b + 1]) in input order: the order pycocotools sees them in, which decides ties.
 */
export interface GroupedBoxes {
  start: Int32Array;
  /** x, y, w, h per box. */
  box: Float64Array;
}

export interface GroupedGroundTruth extends GroupedBoxes {
  area: Float64Array;
  crowd: Uint8Array;
}

export interface GroupedDetections extends GroupedBoxes {
  score: Float64Array;
}

export interface EvalIndex {
  imageIds: number[];
  categoryIds: number[];
  categoryNames: (string | undefined)[];
  gt: GroupedGroundTruth;
  dt: GroupedDetections;
}

function fail(message: string): never {
  throw new Error(`evaluateCoco: ${message}`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** Sorted unique ids with their positions, as pycocotools' sorted(getImgIds()) / sorted(getCatIds()). */
function indexIds(list: unknown, what: 'images' | 'categories'): { ids: number[]; position: Map<number, number>; names: (string | undefined)[] } {
  if (!Array.isArray(list)) fail(`dataset.${what} must be an array`);
  const entries: { id: number; name: string | undefined }[] = [];
  const seen = new Set<number>();
  list.forEach((item: unknown, n: number) => {
    if (!isRecord(item)) fail(`dataset.${what}[${n}] is not an object`);
    const id = item.id;
    if (typeof id !== 'number' || !Number.isFinite(id)) fail(`dataset.${what}[${n}] has no numeric 'id'`);
    if (seen.has(id)) fail(`dataset.${what}[${n}]: duplicate id ${id}`);
    seen.add(id);
    entries.push({ id, name: typeof item.name === 'string' ? item.name : undefined });
  });
  entries.sort((a, b) => a.id - b.id);
  const position = new Map<number, number>();
  entries.forEach((e, n) => position.set(e.id, n));
  return { ids: entries.map((e) => e.id), position, names: entries.map((e) => e.name) };
}

function readBox(bbox: unknown, where: string, out: Float64Array, at: number): void {
  if (!Array.isArray(bbox) && !ArrayBuffer.isView(bbox)) fail(`${where}: 'bbox' is missing or not an array`);
  const b = bbox as ArrayLike<unknown>;
  if (b.length !== 4) fail(`${where}: 'bbox' must have 4 numbers [x, y, w, h], got ${b.length}`);
  const x = b[0];
  const y = b[1];
  const w = b[2];
  const h = b[3];
  if (typeof x !== 'number' || typeof y !== 'number' || typeof w !== 'number' || typeof h !== 'number' ||
    !Number.isFinite(x) || !Number.isFinite(y) || !Number.isFinite(w) || !Number.isFinite(h)) {
    fail(`${where}: 'bbox' has a non-finite value [${Array.from(b).join(', ')}]`);
  }
  if (w < 0 || h < 0) fail(`${where}: 'bbox' has a negative width or height [${x}, ${y}, ${w}, ${h}]`);
  out[at] = x;
  out[at + 1] = y;
  out[at + 2] = w;
  out[at + 3] = h;
}

function lookup(position: Map<number, number>, id: unknown, field: string, where: string, known: string): number {
  if (typeof id !== 'number') fail(`${where}: '${field}' is missing or not a number`);
  const n = position.get(id);
  if (n === undefined) fail(`${where}: unknown ${field} ${id} (not in dataset.${known})`);
  return n;
}

/** Turns per-item buckets into start offsets and the position of each item inside its bucket's run. */
function countingOrder(bucket: Int32Array, numBuckets: number): { start: Int32Array; slot: Int32Array } {
  const start = new Int32Array(numBuckets + 1);
  for (let n = 0; n < bucket.length; n++) start[bucket[n]! + 1]!++;
  for (let b = 0; b < numBuckets; b++) start[b + 1]! += start[b]!;
  const next = start.slice(0, numBuckets);
  const slot = new Int32Array(bucket.length);
  for (let n = 0; n < bucket.length; n++) slot[n] = next[bucket[n]!]!++;
  return { start, slot };
}

export function buildIndex(dataset: CocoDataset, detections: readonly CocoDetection[]): EvalIndex {
  if (!isRecord(dataset)) fail('dataset must be an object with images, annotations and categories');
  const images = indexIds(dataset.images, 'images');
  const categories = indexIds(dataset.categories, 'categories');
  const numImages = images.ids.length;
  const numBuckets = categories.ids.length * numImages;

  const annotations: readonly CocoAnnotation[] = dataset.annotations;
  if (!Array.isArray(annotations)) fail('dataset.annotations must be an array');
  const numGt = annotations.length;
  const gtBucket = new Int32Array(numGt);
  const gtBoxIn = new Float64Array(4 * numGt);
  const gtAreaIn = new Float64Array(numGt);
  const gtCrowdIn = new Uint8Array(numGt);
  const annIds = new Set<number>();
  for (let n = 0; n < numGt; n++) {
    const ann: unknown = annotations[n];
    if (!isRecord(ann)) fail(`dataset.annotations[${n}] is not an object`);
    const id = ann.id;
    const where = `annotation ${typeof id === 'number' ? `id ${id}` : `#${n}`}`;
    if (typeof id !== 'number' || !Number.isFinite(id)) fail(`dataset.annotations[${n}] has no numeric 'id'`);
    if (annIds.has(id)) fail(`${where}: duplicate annotation id`);
    annIds.add(id);
    const i = lookup(images.position, ann.image_id, 'image_id', where, 'images');
    const k = lookup(categories.position, ann.category_id, 'category_id', where, 'categories');
    readBox(ann.bbox, where, gtBoxIn, 4 * n);
    const area = ann.area;
    if (typeof area !== 'number' || !Number.isFinite(area) || area < 0) {
      fail(`${where}: 'area' must be a finite number >= 0 (COCO uses the box or mask area), got ${String(area)}`);
    }
    const crowd = ann.iscrowd;
    if (crowd !== 0 && crowd !== 1 && crowd !== true && crowd !== false) {
      fail(`${where}: 'iscrowd' must be 0 or 1, got ${String(crowd)}`);
    }
    gtAreaIn[n] = area;
    gtCrowdIn[n] = crowd === 1 || crowd === true ? 1 : 0;
    gtBucket[n] = k * numImages + i;
  }

  if (!Array.isArray(detections)) fail('detections must be an array');
  const numDt = detections.length;
  // Detections can number millions: validate and bucket them first, then copy each once
  // straight to its grouped place instead of through a second set of arrays.
  const dtBucket = new Int32Array(numDt);
  const boxCheck = new Float64Array(4);
  for (let n = 0; n < numDt; n++) {
    const det: unknown = detections[n];
    if (!isRecord(det)) fail(`detections[${n}] is not an object`);
    const where = `detections[${n}]`;
    const i = lookup(images.position, det.image_id, 'image_id', where, 'images');
    const k = lookup(categories.position, det.category_id, 'category_id', where, 'categories');
    readBox(det.bbox, where, boxCheck, 0);
    const score = det.score;
    if (typeof score !== 'number' || Number.isNaN(score)) fail(`${where}: 'score' must be a number, got ${String(score)}`);
    dtBucket[n] = k * numImages + i;
  }

  const gtOrder = countingOrder(gtBucket, numBuckets);
  const gt: GroupedGroundTruth = {
    start: gtOrder.start,
    box: new Float64Array(4 * numGt),
    area: new Float64Array(numGt),
    crowd: new Uint8Array(numGt),
  };
  for (let n = 0; n < numGt; n++) {
    const s = gtOrder.slot[n]!;
    gt.box.set(gtBoxIn.subarray(4 * n, 4 * n + 4), 4 * s);
    gt.area[s] = gtAreaIn[n]!;
    gt.crowd[s] = gtCrowdIn[n]!;
  }

  const dtOrder = countingOrder(dtBucket, numBuckets);
  const dt: GroupedDetections = {
    start: dtOrder.start,
    box: new Float64Array(4 * numDt),
    score: new Float64Array(numDt),
  };
  for (let n = 0; n < numDt; n++) {
    const det = detections[n]!;
    const bbox = det.bbox;
    const s = dtOrder.slot[n]!;
    const dst = 4 * s;
    dt.box[dst] = bbox[0]!;
    dt.box[dst + 1] = bbox[1]!;
    dt.box[dst + 2] = bbox[2]!;
    dt.box[dst + 3] = bbox[3]!;
    dt.score[s] = det.score;
  }

  return { imageIds: images.ids, categoryIds: categories.ids, categoryNames: categories.names, gt, dt };
}
