import { describe, expect, it } from 'vitest';
import type { CocoDataset, CocoDetection, EvaluateOptions } from '../src/index.js';
import { evaluateCoco } from '../src/index.js';
import { dataset, det, gtBox } from './helpers.js';

const good = dataset([gtBox(1, 1, [0, 0, 10, 10])]);
const run = (data: unknown, dets: unknown, options?: unknown) => () =>
  evaluateCoco(data as CocoDataset, dets as CocoDetection[], options as EvaluateOptions);

describe('input validation names the offending thing', () => {
  it('detections: unknown image_id / category_id', () => {
    expect(run(good, [det(9, [0, 0, 1, 1], 0.5)])).toThrow(/detections\[0\]: unknown image_id 9/);
    expect(run(good, [det(1, [0, 0, 1, 1], 0.5), det(1, [0, 0, 1, 1], 0.5, 4)])).toThrow(/detections\[1\]: unknown category_id 4/);
  });

  it('detections: bad bbox or score', () => {
    expect(run(good, [det(1, [0, 0, -1, 1], 0.5)])).toThrow(/detections\[0\]: 'bbox' has a negative width or height/);
    expect(run(good, [det(1, [0, Number.NaN, 1, 1], 0.5)])).toThrow(/detections\[0\]: 'bbox' has a non-finite value/);
    expect(run(good, [{ image_id: 1, category_id: 1, bbox: [0, 0, 1], score: 1 }])).toThrow(/'bbox' must have 4 numbers/);
    expect(run(good, [{ image_id: 1, category_id: 1, score: 1 }])).toThrow(/detections\[0\]: 'bbox' is missing/);
    expect(run(good, [{ image_id: 1, category_id: 1, bbox: [0, 0, 1, 1] }])).toThrow(/detections\[0\]: 'score' must be a number/);
    expect(run(good, [det(1, [0, 0, 1, 1], Number.NaN)])).toThrow(/'score' must be a number, got NaN/);
    expect(run(good, [{ category_id: 1, bbox: [0, 0, 1, 1], score: 1 }])).toThrow(/detections\[0\]: 'image_id' is missing/);
  });

  it('ground truth: missing or bad fields, by annotation id', () => {
    const ann = (extra: object) => dataset([{ ...gtBox(42, 1, [0, 0, 10, 10]), ...extra }]);
    expect(run(ann({ area: undefined }), [])).toThrow(/annotation id 42: 'area' must be a finite number/);
    expect(run(ann({ iscrowd: undefined }), [])).toThrow(/annotation id 42: 'iscrowd' must be 0 or 1/);
    expect(run(ann({ image_id: 5 }), [])).toThrow(/annotation id 42: unknown image_id 5/);
    expect(run(ann({ category_id: 5 }), [])).toThrow(/annotation id 42: unknown category_id 5/);
    expect(run(ann({ bbox: [0, 0, 10, -10] }), [])).toThrow(/annotation id 42: 'bbox' has a negative/);
    expect(run(dataset([gtBox(3, 1, [0, 0, 1, 1]), gtBox(3, 1, [0, 0, 1, 1])]), [])).toThrow(/annotation id 3: duplicate annotation id/);
  });

  it('dataset structure', () => {
    expect(run({ images: [{ id: 1 }, { id: 1 }], categories: [], annotations: [] }, [])).toThrow(/dataset.images\[1\]: duplicate id 1/);
    expect(run({ images: [], categories: [{ name: 'x' }], annotations: [] }, [])).toThrow(/dataset.categories\[0\] has no numeric 'id'/);
    expect(run({ images: [], categories: [] }, [])).toThrow(/dataset.annotations must be an array/);
    expect(run(good, 'nope')).toThrow(/detections must be an array/);
  });

  it('options', () => {
    expect(run(good, [], { maxDet: [1, 10, 100] })).toThrow(/unknown option 'maxDet'/);
    expect(run(good, [], { maxDets: [10, 1, 100] })).toThrow(/'maxDets' must be 3 ascending positive integers/);
    expect(run(good, [], { maxDets: [1, 100] })).toThrow(/'maxDets'/);
  });
});
