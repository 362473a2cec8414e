import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { cocoInstancesSchema, type CocoAnnotation, type CocoCategory, type CocoImage, type CocoInstances } from './coco-schema.js';
import { encodeImage, type RgbImage } from './image.js';

let tempCounter = 0;

/**
 * Writes a file so that readers see the old content or the new, never half of it: the bytes go to
 * a temp file in the same folder, then a rename (atomic on POSIX within one file system).
 */
export function writeFileAtomic(path: string, bytes: Uint8Array | string): void {
  mkdirSync(dirname(path), { recursive: true });
  const temp = `${path}.tmp-${process.pid}-${tempCounter++}`;
  try {
    writeFileSync(temp, bytes);
    renameSync(temp, path);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
}

export interface NewAnnotation {
  /** COCO `[x, y, width, height]` in the image's pixels. */
  bbox: [number, number, number, number];
  categoryId: number;
  iscrowd?: boolean;
}

export interface WriterOptions {
  /** Written as `info` in instances.json. */
  info?: Record<string, unknown>;
  /** JPEG quality for `.jpg` file names (default 95). */
  jpegQuality?: number;
}

const WRITER_OPTIONS = new Set(['info', 'jpegQuality']);

/**
 * Builds a COCO folder incrementally: each `addImage` encodes and writes one image (atomically);
 * `finish` writes instances.json last (atomically), so a folder with an instances.json always has
 * all the images it lists. Image and annotation ids are assigned 1, 2, ... in call order.
 */
export class CocoFolderWriter {
  readonly dir: string;
  private readonly categories: CocoCategory[];
  private readonly options: WriterOptions;
  private readonly images: CocoImage[] = [];
  private readonly annotations: CocoAnnotation[] = [];
  private finished = false;

  constructor(dir: string, categories: CocoCategory[], options: WriterOptions = {}) {
    for (const key of Object.keys(options)) {
      if (!WRITER_OPTIONS.has(key)) throw new Error(`CocoFolderWriter: unknown option "${key}"`);
    }
    this.dir = resolve(dir);
    this.categories = categories;
    this.options = options;
    mkdirSync(this.dir, { recursive: true });
  }

  /** Writes `image` to `fileName` (PNG or JPEG by extension) and records its annotations. Returns the image id. */
  addImage(fileName: string, image: RgbImage, annotations: NewAnnotation[]): number {
    if (this.finished) throw new Error(`CocoFolderWriter(${this.dir}): addImage after finish`);
    const imageId = this.images.length + 1;
    const known = new Set(this.categories.map((c) => c.id));
    for (const a of annotations) {
      if (!known.has(a.categoryId)) throw new Error(`CocoFolderWriter: ${fileName}: unknown categoryId ${a.categoryId}`);
      if (a.bbox.length !== 4 || a.bbox.some((v) => !Number.isFinite(v) || v < 0)) {
        throw new Error(`CocoFolderWriter: ${fileName}: bbox must be 4 finite non-negative numbers, got [${a.bbox.join(', ')}]`);
      }
    }
    writeFileAtomic(join(this.dir, fileName), encodeImage(image, fileName, { jpegQuality: this.options.jpegQuality ?? 95 }));
    this.images.push({ id: imageId, file_name: fileName, width: image.width, height: image.height });
    for (const a of annotations) {
      this.annotations.push({
        id: this.annotations.length + 1,
        image_id: imageId,
        category_id: a.categoryId,
        bbox: [...a.bbox],
        area: a.bbox[2] * a.bbox[3],
        iscrowd: a.iscrowd ? 1 : 0,
      });
    }
    return imageId;
  }

  /** Writes instances.json and returns its content. */
  finish(): CocoInstances {
    if (this.finished) throw new Error(`CocoFolderWriter(${this.dir}): finish called twice`);
    this.finished = true;
    const instances: CocoInstances = {
      info: this.options.info ?? {},
      images: this.images,
      annotations: this.annotations,
      categories: this.categories,
    };
    writeInstancesJson(join(this.dir, 'instances.json'), instances);
    return instances;
  }
}

/**
 * Writes a complete COCO folder from existing instances: every image from `pixels(image)`, then
 * instances.json. Ids are kept as given. The instances are validated with the reader's schema first.
 */
export function writeCocoFolder(dir: string, instances: CocoInstances, pixels: (image: CocoImage) => RgbImage, options: WriterOptions = {}): void {
  for (const key of Object.keys(options)) {
    if (!WRITER_OPTIONS.has(key)) throw new Error(`writeCocoFolder: unknown option "${key}"`);
  }
  const root = resolve(dir);
  const checked = cocoInstancesSchema.safeParse(instances);
  if (!checked.success) throw new Error(`writeCocoFolder(${root}): invalid instances: ${checked.error.issues[0]!.message} at ${checked.error.issues[0]!.path.join('.')}`);
  for (const image of instances.images) {
    const rgb = pixels(image);
    if (rgb.width !== image.width || rgb.height !== image.height) {
      throw new Error(`writeCocoFolder: image id ${image.id} (${image.file_name}) is ${rgb.width}x${rgb.height}, instances say ${image.width}x${image.height}`);
    }
    writeFileAtomic(join(root, image.file_name), encodeImage(rgb, image.file_name, { jpegQuality: options.jpegQuality ?? 95 }));
  }
  writeInstancesJson(join(root, 'instances.json'), instances);
}

function writeInstancesJson(path: string, instances: CocoInstances): void {
  writeFileAtomic(path, `${JSON.stringify(instances)}\n`);
}
