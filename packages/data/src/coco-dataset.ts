import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { CocoFormatError, parseCocoInstances, type CocoCategory, type CocoInstances } from './coco-schema.js';
import { decodeImage, type RgbImage } from './image.js';

/** One image of a dataset with its ground truth in original-image pixels. */
export interface DatasetImage {
  id: number;
  fileName: string;
  /** Absolute path of the image file. */
  path: string;
  width: number;
  height: number;
  /** `[x1, y1, x2, y2]` per box (flat, 4 per box), original pixels; crowd boxes are not here. */
  boxes: Float32Array;
  /** Contiguous label in `[0, C)` per box. */
  labels: Int32Array;
  /** COCO annotation id per box, to trace a box back to the file. */
  annotationIds: Int32Array;
  /** `iscrowd` boxes, `[x1, y1, x2, y2]` flat: regions whose priors are ignored in training. */
  ignoreBoxes: Float32Array;
}

export interface DatasetSummary {
  images: number;
  /** Annotations kept as training boxes (not crowd, non-zero area). */
  boxes: number;
  crowd: number;
  /** Annotations with zero width or height: skipped. */
  skippedZeroArea: number;
  /** Annotations with a non-zero box lying entirely outside the image (nothing left after clipping): skipped. */
  skippedOutside: number;
  /** Annotations extending past the image border: clipped to it. */
  clipped: number;
  imagesWithoutBoxes: number;
  /** Kept boxes per contiguous label. */
  boxesPerLabel: number[];
}

export interface CocoDataset {
  annotationFile: string;
  imageDir: string;
  /** Categories sorted by COCO id; label `k` is `categories[k]`. */
  categories: CocoCategory[];
  /** COCO category id of each contiguous label. */
  labelToCategoryId: number[];
  categoryIdToLabel: Map<number, number>;
  images: DatasetImage[];
  summary: DatasetSummary;
  /** The validated file contents, extra fields kept. */
  instances: CocoInstances;
}

export interface ReadCocoOptions {
  /** Annotation file, relative to the folder (default `instances.json`). */
  annotationFile?: string;
  /** Image folder, relative to the folder (default: the folder itself). */
  imageDir?: string;
  /** Check that every image file exists while loading (default true). */
  checkFiles?: boolean;
}

const READ_OPTIONS = new Set(['annotationFile', 'imageDir', 'checkFiles']);

/**
 * Reads a COCO-format folder: `instances.json` plus image files (paths in `file_name` are
 * relative to the image folder). Category ids are mapped to contiguous labels in increasing id
 * order. Images are not decoded here (see `loadImage`), so loading is cheap.
 *
 * @throws CocoFormatError naming the file (and annotation id) for malformed JSON, schema
 *   violations (non-numeric or negative boxes...), unknown categories or images, duplicate ids and
 *   missing image files.
 */
export function readCocoDataset(dir: string, options: ReadCocoOptions = {}): CocoDataset {
  for (const key of Object.keys(options)) {
    if (!READ_OPTIONS.has(key)) throw new Error(`readCocoDataset: unknown option "${key}"`);
  }
  const annotationFile = resolve(dir, options.annotationFile ?? 'instances.json');
  const imageDir = resolve(dir, options.imageDir ?? '.');
  let text: string;
  try {
    text = readFileSync(annotationFile, 'utf8');
  } catch (err) {
    throw new CocoFormatError(annotationFile, `cannot read annotation file: ${(err as Error).message}`);
  }
  const instances = parseCocoInstances(text, annotationFile);
  return buildDataset(instances, annotationFile, imageDir, options.checkFiles ?? true);
}

function buildDataset(instances: CocoInstances, file: string, imageDir: string, checkFiles: boolean): CocoDataset {
  const categories = [...instances.categories].sort((a, b) => a.id - b.id);
  const categoryIdToLabel = new Map<number, number>();
  categories.forEach((c, label) => {
    if (categoryIdToLabel.has(c.id)) throw new CocoFormatError(file, `duplicate category id ${c.id}`);
    categoryIdToLabel.set(c.id, label);
  });

  const byImage = new Map<number, { boxes: number[]; labels: number[]; ids: number[]; ignore: number[] }>();
  for (const image of instances.images) {
    if (byImage.has(image.id)) throw new CocoFormatError(file, `duplicate image id ${image.id}`);
    byImage.set(image.id, { boxes: [], labels: [], ids: [], ignore: [] });
  }
  const sizes = new Map(instances.images.map((im) => [im.id, im]));

  const summary: DatasetSummary = {
    images: instances.images.length,
    boxes: 0,
    crowd: 0,
    skippedZeroArea: 0,
    skippedOutside: 0,
    clipped: 0,
    imagesWithoutBoxes: 0,
    boxesPerLabel: new Array<number>(categories.length).fill(0),
  };
  const seenAnnotations = new Set<number>();
  for (const ann of instances.annotations) {
    if (seenAnnotations.has(ann.id)) throw new CocoFormatError(file, 'duplicate annotation id', ann.id);
    seenAnnotations.add(ann.id);
    const label = categoryIdToLabel.get(ann.category_id);
    if (label === undefined) {
      throw new CocoFormatError(file, `unknown category_id ${ann.category_id} (categories: ${categories.map((c) => c.id).join(', ')})`, ann.id);
    }
    const target = byImage.get(ann.image_id);
    const size = sizes.get(ann.image_id);
    if (!target || !size) throw new CocoFormatError(file, `unknown image_id ${ann.image_id}`, ann.id);
    const [x, y, w, h] = ann.bbox;
    const x1 = Math.min(x, size.width);
    const y1 = Math.min(y, size.height);
    const x2 = Math.min(x + w, size.width);
    const y2 = Math.min(y + h, size.height);
    if (w <= 0 || h <= 0) {
      summary.skippedZeroArea++;
      continue;
    }
    if (x2 <= x1 || y2 <= y1) {
      summary.skippedOutside++;
      continue;
    }
    if (x2 !== x + w || y2 !== y + h) summary.clipped++;
    if (ann.iscrowd === 1 || ann.iscrowd === true) {
      target.ignore.push(x1, y1, x2, y2);
      summary.crowd++;
      continue;
    }
    target.boxes.push(x1, y1, x2, y2);
    target.labels.push(label);
    target.ids.push(ann.id);
    summary.boxes++;
    summary.boxesPerLabel[label]!++;
  }

  const images = instances.images.map((im): DatasetImage => {
    const path = resolve(imageDir, im.file_name);
    // A file_name that climbs out of (or is absolute outside) the image folder would read any file.
    const rel = relative(imageDir, path);
    if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
      throw new CocoFormatError(file, `image id ${im.id}: file_name "${im.file_name}" points outside the image folder ${imageDir}`);
    }
    if (checkFiles) {
      let isFile: boolean;
      try {
        isFile = statSync(path).isFile();
      } catch {
        isFile = false;
      }
      if (!isFile) throw new CocoFormatError(file, `image id ${im.id}: image file not found: ${path}`);
    }
    const t = byImage.get(im.id)!;
    if (t.labels.length === 0) summary.imagesWithoutBoxes++;
    return {
      id: im.id,
      fileName: im.file_name,
      path,
      width: im.width,
      height: im.height,
      boxes: Float32Array.from(t.boxes),
      labels: Int32Array.from(t.labels),
      annotationIds: Int32Array.from(t.ids),
      ignoreBoxes: Float32Array.from(t.ignore),
    };
  });

  return {
    annotationFile: file,
    imageDir,
    categories,
    labelToCategoryId: categories.map((c) => c.id),
    categoryIdToLabel,
    images,
    summary,
    instances,
  };
}

/** Decodes an image of the dataset and checks its size against instances.json. */
export function loadImage(dataset: CocoDataset, image: DatasetImage): RgbImage {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(image.path);
  } catch (err) {
    throw new CocoFormatError(dataset.annotationFile, `image id ${image.id}: cannot read ${image.path}: ${(err as Error).message}`);
  }
  const decoded = decodeImage(bytes, image.path);
  if (decoded.width !== image.width || decoded.height !== image.height) {
    throw new CocoFormatError(
      dataset.annotationFile,
      `image id ${image.id}: ${image.path} is ${decoded.width}x${decoded.height} but instances.json says ${image.width}x${image.height}`,
    );
  }
  return decoded;
}

/** A human-readable one-paragraph summary (counts, skipped and clipped annotations). */
export function formatSummary(dataset: CocoDataset): string {
  const s = dataset.summary;
  const perClass = dataset.categories.map((c, k) => `${c.name}=${s.boxesPerLabel[k]}`).join(' ');
  return (
    `${dataset.annotationFile}: ${s.images} images, ${s.boxes} boxes, ${s.crowd} crowd (ignored) regions, ` +
    `${s.skippedZeroArea} zero-area and ${s.skippedOutside} outside-the-image annotations skipped, ${s.clipped} clipped to the image, ` +
    `${s.imagesWithoutBoxes} images without boxes; per class: ${perClass}`
  );
}
