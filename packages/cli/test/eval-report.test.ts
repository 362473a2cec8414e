import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluateCoco, type CocoDataset, type CocoDetection } from '@hpf/eval';
import { decodeImage } from '@hpf/data';
import { classCsv, describeHpf, formatClassTable, writeEvalReport } from '../src/eval-report.js';

const gt: CocoDataset = {
  images: [{ id: 1 }],
  categories: [{ id: 1, name: 'cat' }, { id: 2, name: 'dog, big' }],
  annotations: [
    { id: 1, image_id: 1, category_id: 1, bbox: [0, 0, 100, 100], area: 10000, iscrowd: 0 },
    { id: 2, image_id: 1, category_id: 1, bbox: [200, 0, 100, 100], area: 10000, iscrowd: 0 },
  ],
};
const dts: CocoDetection[] = [
  { image_id: 1, category_id: 1, bbox: [0, 0, 100, 100], score: 0.9 },
  { image_id: 1, category_id: 2, bbox: [400, 0, 100, 100], score: 0.8 },
  { image_id: 1, category_id: 1, bbox: [200, 0, 100, 100], score: 0.7 },
];

describe('hpf eval report', () => {
  it('table, CSV and header words', () => {
    const rows = [
      { categoryId: 1, name: 'cat', AP: 0.5, AP50: 1, AP75: 0.25, groundTruth: 2, detections: 2 },
      { categoryId: 2, name: 'dog, big', AP: -1, AP50: -1, AP75: -1, groundTruth: 0, detections: 1 },
    ];
    expect(formatClassTable(rows).split('\n')).toEqual([
      'class        AP   AP50   AP75   boxes     dets',
      'cat        50.0  100.0   25.0       2        2',
      'dog, big      -      -      -       0        1',
    ]);
    expect(classCsv(rows)).toBe('category_id,name,AP,AP50,AP75,ground_truth,detections\n1,cat,0.5,1,0.25,2,2\n2,"dog, big",,,,0,1\n');
    expect(describeHpf(false)).toBe('baseline loss (no HPF)');
    expect(describeHpf(true)).toBe('HPF (default delta and momentum)');
    expect(describeHpf({ delta: 0.25, momentum: 0.9 })).toBe('HPF with delta 0.25, momentum 0.9');
  });
  it('writes the CSV and the PR-curve and confusion-matrix charts as SVG and PNG', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hpf-eval-report-'));
    const result = evaluateCoco(gt, dts);
    const { table, files } = await writeEvalReport(dir, gt, dts, result, 0.25);
    expect(table).toContain('cat');
    expect(readFileSync(files.csv, 'utf8').split('\n')[1]).toMatch(/^1,cat,(1|0\.9999\d+),(1|0\.9999\d+),(1|0\.9999\d+),2,2$/);
    for (const chart of [files.prCurve, files.confusion, files.confusionNormalised]) {
      const svg = readFileSync(chart.svg, 'utf8');
      expect(svg).toContain('<svg');
      const png = decodeImage(readFileSync(chart.png), chart.png);
      expect(png.width).toBeGreaterThan(300);
    }
    // Both cat boxes found (AP 1); the dog detection hits nothing: confusion [dog][background] = 1,
    // so the normalised background column reads 1.00.
    const raw = readFileSync(files.confusion.svg, 'utf8');
    expect(raw).toContain('background');
    expect(raw).toContain('predicted class');
    expect(readFileSync(files.confusionNormalised.svg, 'utf8')).toContain('1.00');
    expect(readFileSync(files.prCurve.svg, 'utf8')).toContain('cat (AP50 100.0)');
  });
});
