import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { writeCocoFolder } from '@hpf/data';
import { convertVoc, convertYolo, readClassNames, writeInstances } from '../src/convert.js';
import { explicitDataSpec, readSplit, resolveData } from '../src/data-source.js';
import { dataSpecFromCli } from '../src/cli-app.js';

const fixture = fileURLToPath(new URL('./fixtures/convert/', import.meta.url));
const tmp = (): string => mkdtempSync(join(tmpdir(), 'hpf-onramp-'));
const pixel = { width: 4, height: 2, data: new Uint8Array(4 * 2 * 3).fill(90) };
const split = () => ({ images: [{ id: 3, file_name: 'p.png', width: 4, height: 2 }], categories: [{ id: 1, name: 'x' }], annotations: [{ id: 1, image_id: 3, category_id: 1, bbox: [1, 0, 2, 2] as [number, number, number, number] }] });

describe('--data layouts', () => {
  it('the COCO-2017 layout: annotations/instances_{train,val}2017.json beside train2017/ and val2017/', () => {
    const root = tmp();
    for (const name of ['train2017', 'val2017']) {
      writeCocoFolder(join(root, name), split(), () => pixel);
      mkdirSync(join(root, 'annotations'), { recursive: true });
      writeFileSync(join(root, 'annotations', `instances_${name}.json`), readFileSync(join(root, name, 'instances.json')));
    }
    const source = resolveData(root);
    expect(source.train).toEqual({ annotationFile: join(root, 'annotations', 'instances_train2017.json'), imageDir: join(root, 'train2017') });
    const val = readSplit(source.val);
    expect(val.annotationFile).toBe(join(root, 'annotations', 'instances_val2017.json'));
    expect(val.images[0]!.path).toBe(join(root, 'val2017', 'p.png'));
    expect(Array.from(val.images[0]!.boxes)).toEqual([1, 0, 3, 2]);
  });
  it('explicit files, kept as a JSON spec; incomplete or mixed forms are named', () => {
    const root = tmp();
    writeCocoFolder(join(root, 'imgs'), split(), () => pixel);
    const json = join(root, 'imgs', 'instances.json');
    const spec = dataSpecFromCli({ trainJson: json, trainImages: join(root, 'imgs'), valJson: json, valImages: join(root, 'imgs') });
    expect(spec).toBe(explicitDataSpec({ trainJson: json, trainImages: join(root, 'imgs'), valJson: json, valImages: join(root, 'imgs') }));
    const source = resolveData(spec);
    expect(readSplit(source.train).images.map((i) => i.id)).toEqual([3]);
    expect(() => dataSpecFromCli({ trainJson: json, valJson: json })).toThrow('--train-json, --val-json given without --train-images, --val-images: the explicit form needs all four');
    expect(() => dataSpecFromCli({ data: 'x', trainJson: json })).toThrow('--data cannot be combined with --train-json');
    expect(() => dataSpecFromCli({})).toThrow("required option '--data <spec>' not specified");
    expect(() => resolveData(explicitDataSpec({ trainJson: join(root, 'nope.json'), trainImages: root, valJson: json, valImages: root }))).toThrow(`--train-json: ${join(root, 'nope.json')} is not a file`);
  });
  it('a folder with neither layout names both', () => {
    expect(() => resolveData(tmp())).toThrow(/has neither train\/instances.json \+ val\/instances.json nor the COCO-2017 layout/);
  });
});

describe('hpf convert', () => {
  it('YOLO txt labels to COCO (worked by hand on the fixture)', () => {
    const { instances, unlabelled } = convertYolo(join(fixture, 'images'), join(fixture, 'yolo', 'labels'), readClassNames(join(fixture, 'yolo', 'classes.txt')));
    expect(unlabelled).toBe(1);
    expect(instances.categories).toEqual([{ id: 1, name: 'cat' }, { id: 2, name: 'dog' }]);
    expect(instances.images).toEqual([{ id: 1, file_name: 'a.png', width: 40, height: 20 }, { id: 2, file_name: 'sub/b.png', width: 30, height: 30 }]);
    expect(instances.annotations).toEqual([
      { id: 1, image_id: 1, category_id: 2, bbox: [10, 5, 20, 10], area: 200, iscrowd: 0 },
      { id: 2, image_id: 1, category_id: 1, bbox: [8, 13, 4, 4], area: 16, iscrowd: 0 },
    ]);
    // The written file trains as it is: --train-json <file> --train-images <images>.
    const out = join(tmp(), 'train.json');
    writeInstances(out, instances);
    const ds = readSplit({ annotationFile: out, imageDir: join(fixture, 'images') });
    expect(ds.summary.boxes).toBe(2);
  });
  it('YOLO errors name the file and line', () => {
    const dir = tmp();
    cpSync(join(fixture, 'images'), join(dir, 'images'), { recursive: true });
    mkdirSync(join(dir, 'labels'));
    writeFileSync(join(dir, 'labels', 'a.txt'), '0 0.5 0.5 0.5 0.5\n5 0.5 0.5 0.1 0.1\n');
    expect(() => convertYolo(join(dir, 'images'), join(dir, 'labels'), ['cat', 'dog'])).toThrow(`${join(dir, 'labels', 'a.txt')} line 2: class 5 is not in 0..1`);
    writeFileSync(join(dir, 'labels', 'a.txt'), '0 0.5 0.5 1.5 0.5\n');
    expect(() => convertYolo(join(dir, 'images'), join(dir, 'labels'), ['cat'])).toThrow('line 1: cx cy w h must be fractions in [0, 1]');
  });
  it('Pascal VOC XML to COCO: 1-based inclusive boxes, difficult as crowd (worked by hand)', () => {
    const { instances } = convertVoc(join(fixture, 'images'), join(fixture, 'voc', 'Annotations'));
    expect(instances.categories).toEqual([{ id: 1, name: 'cat' }, { id: 2, name: 'dog' }]);
    expect(instances.images).toEqual([{ id: 1, file_name: 'a.png', width: 40, height: 20 }]);
    expect(instances.annotations).toEqual([
      { id: 1, image_id: 1, category_id: 2, bbox: [10, 5, 20, 10], area: 200, iscrowd: 0 },
      { id: 2, image_id: 1, category_id: 1, bbox: [0, 0, 4, 4], area: 16, iscrowd: 1 },
    ]);
    expect(() => convertVoc(join(fixture, 'images'), join(fixture, 'voc', 'Annotations'), ['dog'])).toThrow("class 'cat' is not in --classes (dog)");
  });
});
