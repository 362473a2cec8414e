import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CocoFolderWriter, CocoFormatError, encodeImage, formatSummary, loadImage, readCocoDataset, writeCocoFolder, type CocoInstances } from '../src/index.js';
import { makeImage, tempDir, writeJson } from './helpers.js';

const png = makeImage(3, 2, (x, y) => [10 + 80 * x, 200 - 90 * y, 7 * x + 50 * y]);
const jpg = makeImage(16, 16, (x, y) => (x < 8 === y < 8 ? [220, 40, 40] : [40, 40, 220]));

/** Categories deliberately out of id order with gaps: labels follow increasing id. */
const categories = [
  { id: 7, name: 'seven' },
  { id: 3, name: 'three' },
];

function writeSample(dir: string): CocoInstances {
  const writer = new CocoFolderWriter(dir, categories, { info: { description: 'test' }, jpegQuality: 100 });
  writer.addImage('a.png', png, [
    { bbox: [0.5, 0, 2, 1.5], categoryId: 7 },
    { bbox: [1, 1, 1, 1], categoryId: 3 },
  ]);
  writer.addImage('sub/b.jpg', jpg, [
    { bbox: [2, 3, 4, 5], categoryId: 3 },
    { bbox: [8, 8, 8, 8], categoryId: 7, iscrowd: true },
  ]);
  return writer.finish();
}

const base = () => ({
  images: [{ id: 1, file_name: 'a.png', width: 3, height: 2 }],
  categories: [{ id: 1, name: 'x' }],
  annotations: [] as unknown[],
});

function errorOf(fn: () => unknown): CocoFormatError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CocoFormatError);
    return err as CocoFormatError;
  }
  throw new Error('expected an error');
}

describe('COCO folder round trip', () => {
  it('reads back what was written: images, boxes, labels, crowd regions, pixels', () => {
    const dir = tempDir();
    const written = writeSample(dir);
    expect(readdirSync(dir).sort()).toEqual(['a.png', 'instances.json', 'sub']);
    const ds = readCocoDataset(dir);
    expect(ds.instances.annotations).toEqual(written.annotations);
    expect(ds.labelToCategoryId).toEqual([3, 7]);
    expect(ds.categoryIdToLabel.get(3)).toBe(0);
    expect(ds.categoryIdToLabel.get(7)).toBe(1);
    const [a, b] = ds.images;
    expect(a!.fileName).toBe('a.png');
    expect(Array.from(a!.boxes)).toEqual([0.5, 0, 2.5, 1.5, 1, 1, 2, 2]);
    expect(Array.from(a!.labels)).toEqual([1, 0]);
    expect(Array.from(a!.annotationIds)).toEqual([1, 2]);
    expect(Array.from(b!.boxes)).toEqual([2, 3, 6, 8]);
    expect(Array.from(b!.labels)).toEqual([0]);
    expect(Array.from(b!.ignoreBoxes)).toEqual([8, 8, 16, 16]);
    expect(ds.summary).toEqual({ images: 2, boxes: 3, crowd: 1, skippedZeroArea: 0, skippedOutside: 0, clipped: 0, imagesWithoutBoxes: 0, boxesPerLabel: [2, 1] });

    expect(Array.from(loadImage(ds, a!).data)).toEqual(Array.from(png.data));
    const decoded = loadImage(ds, b!);
    for (const [x, y, want] of [[3, 3, [220, 40, 40]], [12, 3, [40, 40, 220]], [3, 12, [40, 40, 220]], [12, 12, [220, 40, 40]]] as const) {
      const p = (y * 16 + x) * 3;
      for (let c = 0; c < 3; c++) expect(Math.abs(decoded.data[p + c]! - want[c]!)).toBeLessThanOrEqual(4);
    }
  });

  it('writeCocoFolder keeps ids and leaves no temp files', () => {
    const dir = tempDir();
    const instances: CocoInstances = {
      images: [{ id: 42, file_name: 'x.png', width: 3, height: 2 }],
      annotations: [{ id: 9, image_id: 42, category_id: 5, bbox: [0, 0, 1, 1], iscrowd: 0, area: 1 }],
      categories: [{ id: 5, name: 'five' }],
    };
    writeCocoFolder(dir, instances, () => png);
    expect(readdirSync(dir).sort()).toEqual(['instances.json', 'x.png']);
    const ds = readCocoDataset(dir);
    expect(ds.images[0]!.id).toBe(42);
    expect(Array.from(ds.images[0]!.annotationIds)).toEqual([9]);
    expect(() => writeCocoFolder(dir, instances, () => jpg)).toThrow(/image id 42 \(x\.png\) is 16x16, instances say 3x2/);
  });

  it('rejects unknown options', () => {
    expect(() => readCocoDataset(tempDir(), { imageDirectory: 'x' } as never)).toThrow(/unknown option "imageDirectory"/);
  });
});

describe('COCO validation errors name the file and annotation', () => {
  it('malformed JSON: file name and parser position', () => {
    const dir = tempDir();
    const file = writeJson(dir, '{\n  "images": [}\n');
    const err = errorOf(() => readCocoDataset(dir));
    expect(err.file).toBe(file);
    expect(err.message).toContain(file);
    // The stray "}" is at offset 15: line 2, column 14.
    expect(err.message).toMatch(/malformed JSON at position 15 \(line 2, column 14\)/);
  });

  it('missing image file', () => {
    const dir = tempDir();
    const file = writeJson(dir, base());
    const err = errorOf(() => readCocoDataset(dir));
    expect(err.message).toBe(`${file}: image id 1: image file not found: ${join(dir, 'a.png')}`);
  });

  it('unknown category', () => {
    const dir = tempDir();
    const file = writeJson(dir, { ...base(), annotations: [{ id: 5, image_id: 1, category_id: 99, bbox: [0, 0, 1, 1] }] });
    const err = errorOf(() => readCocoDataset(dir, { checkFiles: false }));
    expect(err.annotationId).toBe(5);
    expect(err.message).toBe(`${file}: annotation id 5: unknown category_id 99 (categories: 1)`);
  });

  it('unknown image', () => {
    const dir = tempDir();
    writeJson(dir, { ...base(), annotations: [{ id: 4, image_id: 2, category_id: 1, bbox: [0, 0, 1, 1] }] });
    expect(() => readCocoDataset(dir, { checkFiles: false })).toThrow(/annotation id 4: unknown image_id 2/);
  });

  it('non-numeric box', () => {
    const dir = tempDir();
    const file = writeJson(dir, { ...base(), annotations: [{ id: 1, image_id: 1, category_id: 1, bbox: [0, 0, 1, 1] }, { id: 6, image_id: 1, category_id: 1, bbox: [0, 0, '2', 1] }] });
    const err = errorOf(() => readCocoDataset(dir, { checkFiles: false }));
    expect(err.file).toBe(file);
    expect(err.annotationId).toBe(6);
    expect(err.message).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: annotation id 6: annotations\\[1\\]\\.bbox\\[2\\]: .*expected number`));
  });

  it('negative box', () => {
    const dir = tempDir();
    writeJson(dir, { ...base(), annotations: [{ id: 8, image_id: 1, category_id: 1, bbox: [-1, 0, 1, 1] }] });
    const err = errorOf(() => readCocoDataset(dir, { checkFiles: false }));
    expect(err.annotationId).toBe(8);
    expect(err.message).toMatch(/annotation id 8: annotations\[0\]\.bbox\[0\]: .*>=\s?0/);
  });

  it('duplicate annotation id', () => {
    const dir = tempDir();
    const ann = { id: 3, image_id: 1, category_id: 1, bbox: [0, 0, 1, 1] };
    writeJson(dir, { ...base(), annotations: [ann, ann] });
    expect(() => readCocoDataset(dir, { checkFiles: false })).toThrow(/annotation id 3: duplicate annotation id/);
  });

  it('image size disagreeing with instances.json', () => {
    const dir = tempDir();
    writeCocoFolder(dir, { ...base(), annotations: [] }, () => png);
    const json = JSON.parse(readFileSync(join(dir, 'instances.json'), 'utf8'));
    json.images[0].width = 4;
    writeJson(dir, json);
    const ds = readCocoDataset(dir);
    expect(() => loadImage(ds, ds.images[0]!)).toThrow(/image id 1: .*a\.png is 3x2 but instances\.json says 4x2/);
  });
});

describe('zero-area and clipped boxes', () => {
  it('skips zero-area boxes and boxes outside the image, counts each, and reports them in the summary', () => {
    const dir = tempDir();
    writeJson(dir, {
      ...base(),
      annotations: [
        { id: 1, image_id: 1, category_id: 1, bbox: [0, 0, 0, 1] },
        { id: 2, image_id: 1, category_id: 1, bbox: [0, 0, 1, 0] },
        { id: 3, image_id: 1, category_id: 1, bbox: [3, 0, 2, 1] }, // starts at the right border: nothing left after clipping
        { id: 6, image_id: 1, category_id: 1, bbox: [1, 7, 1, 1] }, // below the image
        { id: 4, image_id: 1, category_id: 1, bbox: [1, 1, 5, 5] }, // clipped to [1, 1, 3, 2]
        { id: 5, image_id: 1, category_id: 1, bbox: [0, 0, 1, 1] },
      ],
    });
    const ds = readCocoDataset(dir, { checkFiles: false });
    expect(ds.summary.skippedZeroArea).toBe(2);
    expect(ds.summary.skippedOutside).toBe(2);
    expect(ds.summary.clipped).toBe(1);
    expect(ds.summary.boxes).toBe(2);
    expect(Array.from(ds.images[0]!.boxes)).toEqual([1, 1, 3, 2, 0, 0, 1, 1]);
    expect(Array.from(ds.images[0]!.annotationIds)).toEqual([4, 5]);
    expect(formatSummary(ds)).toContain('2 zero-area and 2 outside-the-image annotations skipped, 1 clipped to the image');
  });
});

describe('atomic writes', () => {
  it('a failed image write leaves neither a temp file nor instances.json', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'blocker'), 'x'); // a file where a folder is needed makes the write fail
    const writer = new CocoFolderWriter(dir, categories);
    expect(() => writer.addImage('blocker/a.png', png, [])).toThrow();
    expect(readdirSync(dir)).toEqual(['blocker']);
    expect(existsSync(join(dir, 'instances.json'))).toBe(false);
  });
});

describe('malformed JSON positions', () => {
  it.each([
    ['[1,,2]', 3],
    ['{"a":tx}', 6],
    ['{"a" 1}', 5],
    ['{"images": []}}', 14],
  ])('%s fails at offset %d', (text, pos) => {
    const dir = tempDir();
    writeJson(dir, text);
    expect(() => readCocoDataset(dir)).toThrow(new RegExp(`malformed JSON at position ${pos} \\(line 1, column ${pos + 1}\\)`));
  });
});

describe('writer validation', () => {
  it('rejects unknown categories, bad boxes and wrong pixel buffers by file name', () => {
    const writer = new CocoFolderWriter(tempDir(), categories);
    expect(() => writer.addImage('a.png', png, [{ bbox: [0, 0, 1, 1], categoryId: 4 }])).toThrow(/a\.png: unknown categoryId 4/);
    expect(() => writer.addImage('a.png', png, [{ bbox: [0, -1, 1, 1], categoryId: 3 }])).toThrow(/a\.png: bbox must be 4 finite non-negative numbers, got \[0, -1, 1, 1\]/);
    expect(() => writer.addImage('a.png', { width: 3, height: 2, data: new Uint8Array(5) }, [])).toThrow(/a\.png: RGB data has 5 bytes, expected 3x2x3 = 18/);
    expect(() => new CocoFolderWriter(tempDir(), categories, { quality: 3 } as never)).toThrow(/unknown option "quality"/);
    writer.finish();
    expect(() => writer.addImage('b.png', png, [])).toThrow(/addImage after finish/);
  });
});

describe('COCO 2017 layout', () => {
  it('reads annotations/x.json with images in a sibling folder', () => {
    const dir = tempDir();
    writeCocoFolder(join(dir, 'train2017'), { ...base(), annotations: [{ id: 1, image_id: 1, category_id: 1, bbox: [0, 0, 2, 1] }] }, () => png);
    const json = readFileSync(join(dir, 'train2017', 'instances.json'), 'utf8');
    mkdirSync(join(dir, 'annotations'));
    writeFileSync(join(dir, 'annotations', 'instances_train2017.json'), json);
    const ds = readCocoDataset(dir, { annotationFile: 'annotations/instances_train2017.json', imageDir: 'train2017' });
    expect(ds.images[0]!.path).toBe(join(dir, 'train2017', 'a.png'));
    expect(Array.from(loadImage(ds, ds.images[0]!).data)).toEqual(Array.from(png.data));
  });
});

describe('data paths a dataset may get wrong', () => {
  it('refuses a file_name that climbs out of the image folder, naming the image id', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'secret.png'), encodeImage(png, 'secret.png'));
    mkdirSync(join(dir, 'train'));
    writeJson(join(dir, 'train'), { ...base(), images: [{ id: 1, file_name: 'a.png', width: 3, height: 2 }, { id: 42, file_name: '../secret.png', width: 3, height: 2 }] });
    writeFileSync(join(dir, 'train', 'a.png'), encodeImage(png, 'a.png'));
    const err = errorOf(() => readCocoDataset(join(dir, 'train')));
    expect(err.message).toContain('image id 42: file_name "../secret.png" points outside the image folder');
    writeJson(join(dir, 'train'), { ...base(), images: [{ id: 7, file_name: join(dir, 'secret.png'), width: 3, height: 2 }] });
    expect(errorOf(() => readCocoDataset(join(dir, 'train'))).message).toContain('image id 7: file_name');
    // A sub-folder inside the image folder is fine, also through a harmless '..'.
    mkdirSync(join(dir, 'train', 'sub'));
    writeFileSync(join(dir, 'train', 'sub', 'c.png'), encodeImage(png, 'c.png'));
    writeJson(join(dir, 'train'), { ...base(), images: [{ id: 1, file_name: 'sub/../sub/c.png', width: 3, height: 2 }] });
    expect(readCocoDataset(join(dir, 'train')).images[0]!.path).toBe(join(dir, 'train', 'sub', 'c.png'));
  });

  it('accepts instances.json saved with a UTF-8 byte-order mark', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'a.png'), encodeImage(png, 'a.png'));
    writeFileSync(join(dir, 'instances.json'), '\ufeff' + JSON.stringify({ ...base(), annotations: [{ id: 1, image_id: 1, category_id: 1, bbox: [0, 0, 2, 1] }] }));
    const ds = readCocoDataset(dir);
    expect(ds.summary.boxes).toBe(1);
    expect(Array.from(ds.images[0]!.boxes)).toEqual([0, 0, 2, 1]);
  });

  it('decodes a PNG named .jpg by its bytes', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'a.jpg'), encodeImage(png, 'a.png'));
    writeJson(dir, { ...base(), images: [{ id: 1, file_name: 'a.jpg', width: 3, height: 2 }] });
    const ds = readCocoDataset(dir);
    expect(Array.from(loadImage(ds, ds.images[0]!).data)).toEqual(Array.from(png.data));
  });
});
