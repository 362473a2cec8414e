/**
 * `hpf convert --from yolo|voc`: YOLO txt labels or Pascal VOC XML to one COCO instances JSON whose
 * `file_name`s are relative to the images folder, for `hpf train --train-json ... --train-images ...`.
 * VOC XML is read with fast-xml-parser (maintained, no native code) rather than by pattern matching.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join, relative, resolve } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { decodeImage, parseCocoInstances, writeFileAtomic, type CocoInstances } from '@hpf/data';

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg']);

export interface ConvertResult {
  instances: CocoInstances;
  /** Images without a label file (kept, with no boxes: they are negatives). */
  unlabelled: number;
}

function listImageFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (IMAGE_EXTENSIONS.has(extname(entry.name).toLowerCase())) out.push(relative(dir, path));
    }
  };
  walk(dir);
  return out;
}

/** Class names, one per line (YOLO's classes.txt / obj.names); blank lines ignored. */
export function readClassNames(file: string): string[] {
  const names = readFileSync(file, 'utf8').replace(/^\ufeff/, '').split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
  if (names.length === 0) throw new Error(`--classes: ${file} has no class names`);
  return names;
}

/**
 * YOLO: for each image, `<labels>/<same relative path, .txt>` with lines `class cx cy w h`, the box
 * centre and size as fractions of the image. Category ids are class index + 1 (COCO ids start at 1).
 * Image sizes are read by decoding each image (EXIF orientation applied, as training sees it).
 */
export function convertYolo(imagesDir: string, labelsDir: string, classNames: readonly string[]): ConvertResult {
  const images = resolve(imagesDir);
  const labels = resolve(labelsDir);
  const instances: CocoInstances = { images: [], annotations: [], categories: classNames.map((name, i) => ({ id: i + 1, name })) };
  let unlabelled = 0;
  listImageFiles(images).forEach((fileName, i) => {
    const id = i + 1;
    const { width, height } = decodeImage(readFileSync(join(images, fileName)), join(images, fileName));
    instances.images.push({ id, file_name: fileName.split('\\').join('/'), width, height });
    const labelFile = join(labels, `${fileName.slice(0, fileName.length - extname(fileName).length)}.txt`);
    let text: string;
    try {
      text = readFileSync(labelFile, 'utf8');
    } catch {
      unlabelled++;
      return;
    }
    text.split(/\r?\n/).forEach((line, n) => {
      if (line.trim() === '') return;
      const where = `${labelFile} line ${n + 1}`;
      const fields = line.trim().split(/\s+/);
      if (fields.length !== 5) throw new Error(`${where}: expected 'class cx cy w h', got '${line.trim()}'`);
      const [cls, cx, cy, w, h] = fields.map(Number) as [number, number, number, number, number];
      if (!Number.isInteger(cls) || cls < 0 || cls >= classNames.length) throw new Error(`${where}: class ${fields[0]} is not in 0..${classNames.length - 1} (${classNames.length} names in --classes)`);
      if (![cx, cy, w, h].every((v) => Number.isFinite(v) && v >= 0 && v <= 1)) throw new Error(`${where}: cx cy w h must be fractions in [0, 1], got '${fields.slice(1).join(' ')}'`);
      const bw = w * width;
      const bh = h * height;
      instances.annotations.push({ id: instances.annotations.length + 1, image_id: id, category_id: cls + 1, bbox: [cx * width - bw / 2, cy * height - bh / 2, bw, bh], area: bw * bh, iscrowd: 0 });
    });
  });
  return { instances, unlabelled };
}

type XmlNode = Record<string, unknown>;

const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/**
 * Pascal VOC: one XML per image in `annotationsDir` (filename, size, objects with name and a
 * 1-based inclusive bndbox). A box xmin..xmax covers pixels xmin - 1 .. xmax - 1, so in COCO's
 * continuous coordinates x = xmin - 1 and w = xmax - xmin + 1. `difficult` objects become crowd
 * regions (never a miss, never a false positive), as VOC's own evaluation ignores them.
 * Categories: `classNames` in that order when given, else every name found, sorted.
 */
export function convertVoc(imagesDir: string, annotationsDir: string, classNames?: readonly string[]): ConvertResult {
  const images = resolve(imagesDir);
  const dir = resolve(annotationsDir);
  const parser = new XMLParser({ ignoreAttributes: true, parseTagValue: false, trimValues: true });
  const files = readdirSync(dir).filter((f) => extname(f).toLowerCase() === '.xml').sort();
  if (files.length === 0) throw new Error(`--labels: ${dir} has no .xml files`);
  const parsed = files.map((f) => {
    const file = join(dir, f);
    let doc: XmlNode;
    try {
      doc = parser.parse(readFileSync(file, 'utf8')) as XmlNode;
    } catch (error) {
      throw new Error(`${file}: not valid XML: ${(error as Error).message}`, { cause: error });
    }
    const ann = doc.annotation as XmlNode | undefined;
    if (ann === undefined) throw new Error(`${file}: no <annotation> element`);
    const need = (node: XmlNode | undefined, key: string, what: string): string => {
      const v = node?.[key];
      if (typeof v !== 'string' || v === '') throw new Error(`${file}: missing <${what}>`);
      return v;
    };
    const fileName = typeof ann.filename === 'string' && ann.filename !== '' ? ann.filename : `${basename(f, extname(f))}.jpg`;
    const size = ann.size as XmlNode | undefined;
    const objects = asArray(ann.object as XmlNode | XmlNode[] | undefined).map((o) => {
      const box = o.bndbox as XmlNode | undefined;
      const num = (k: string): number => {
        const v = Number(need(box, k, `bndbox><${k}`));
        if (!Number.isFinite(v)) throw new Error(`${file}: <${k}> is not a number`);
        return v;
      };
      return { name: need(o, 'name', 'object><name'), difficult: o.difficult === '1', xmin: num('xmin'), ymin: num('ymin'), xmax: num('xmax'), ymax: num('ymax') };
    });
    return { file, fileName, width: Number(need(size, 'width', 'size><width')), height: Number(need(size, 'height', 'size><height')), objects };
  });
  const names = classNames ?? [...new Set(parsed.flatMap((p) => p.objects.map((o) => o.name)))].sort();
  const idOf = new Map(names.map((n, i) => [n, i + 1]));
  const instances: CocoInstances = { images: [], annotations: [], categories: names.map((name, i) => ({ id: i + 1, name })) };
  parsed.forEach((p, i) => {
    if (!statSync(join(images, p.fileName), { throwIfNoEntry: false })?.isFile()) throw new Error(`${p.file}: image ${join(images, p.fileName)} not found`);
    instances.images.push({ id: i + 1, file_name: p.fileName, width: p.width, height: p.height });
    for (const o of p.objects) {
      const category = idOf.get(o.name);
      if (category === undefined) throw new Error(`${p.file}: class '${o.name}' is not in --classes (${names.join(', ')})`);
      if (o.xmax < o.xmin || o.ymax < o.ymin) throw new Error(`${p.file}: box of '${o.name}' has xmax < xmin or ymax < ymin`);
      const w = o.xmax - o.xmin + 1;
      const h = o.ymax - o.ymin + 1;
      instances.annotations.push({ id: instances.annotations.length + 1, image_id: i + 1, category_id: category, bbox: [o.xmin - 1, o.ymin - 1, w, h], area: w * h, iscrowd: o.difficult ? 1 : 0 });
    }
  });
  return { instances, unlabelled: 0 };
}

/** Validates the result with @hpf/data's schema and writes it atomically. */
export function writeInstances(file: string, instances: CocoInstances): void {
  const text = JSON.stringify(instances);
  parseCocoInstances(text, file);
  writeFileAtomic(file, text);
}
