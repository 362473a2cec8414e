import { describe, expect, it } from 'vitest';
import { evaluateCoco, formatSummary } from '../src/index.js';
import { dataset, det, gtBox } from './helpers.js';

describe('formatSummary', () => {
  it("prints the 12 lines of pycocotools' summarize(), character for character", () => {
    // The 101-point case of rules.test.ts: AP = 253/303 = 0.83498..., AR1 = .5.
    const data = dataset([gtBox(1, 1, [0, 0, 100, 100]), gtBox(2, 1, [200, 0, 100, 100])]);
    const dets = [det(1, [0, 0, 100, 100], 0.9), det(1, [400, 0, 100, 100], 0.8), det(1, [200, 0, 100, 100], 0.7)];
    const { stats } = evaluateCoco(data, dets);
    expect(formatSummary(stats)).toBe([
      ' Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.835',
      ' Average Precision  (AP) @[ IoU=0.50      | area=   all | maxDets=100 ] = 0.835',
      ' Average Precision  (AP) @[ IoU=0.75      | area=   all | maxDets=100 ] = 0.835',
      ' Average Precision  (AP) @[ IoU=0.50:0.95 | area= small | maxDets=100 ] = -1.000',
      ' Average Precision  (AP) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ] = -1.000',
      ' Average Precision  (AP) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = 0.835',
      ' Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ] = 0.500',
      ' Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets= 10 ] = 1.000',
      ' Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 1.000',
      ' Average Recall     (AR) @[ IoU=0.50:0.95 | area= small | maxDets=100 ] = -1.000',
      ' Average Recall     (AR) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ] = -1.000',
      ' Average Recall     (AR) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = 1.000',
    ].join('\n'));
  });

  it('prints custom maxDets the way pycocotools does (the first AP line keeps 100)', () => {
    const { stats } = evaluateCoco(dataset([gtBox(1, 1, [0, 0, 10, 10])]), [det(1, [0, 0, 10, 10], 0.9)], { maxDets: [1, 5, 20] });
    const lines = formatSummary(stats, [1, 5, 20]).split('\n');
    expect(lines[0]).toBe(' Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = -1.000');
    expect(lines[1]).toBe(' Average Precision  (AP) @[ IoU=0.50      | area=   all | maxDets= 20 ] = 1.000');
    expect(lines[7]).toBe(' Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  5 ] = 1.000');
  });
});
