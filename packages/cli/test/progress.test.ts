import { describe, expect, it } from 'vitest';
import { formatDuration, formatProgressLine } from '../src/progress.js';
import type { ProgressEvent } from '../src/train.js';

const event: ProgressEvent = {
  iteration: 119,
  steps: 300,
  epoch: 2,
  lr: 0.01,
  losses: { loss_cls: 0.5123, loss_bbox: 0.6014, total: 1.1137 },
  gammas: [2.5, 2.25, 2, 1.75, 1.5],
  positives: [10, 8, 6, 4, 2],
  imagesPerSecond: 12.345,
  etaSeconds: 83,
};

// The parts as formatProgressLine writes them, joined by two spaces.
const head = 'iter 120/300  ETA 1m23s';
const lossShort = 'loss 1.114';
const lossFull = 'loss 1.114 (cls 0.512 bbox 0.601)';
const lr = 'lr 0.0100';
const rate = '12.3 img/s';
const gamma = 'gamma P3-P7 2.50 2.25 2.00 1.75 1.50';
const join = (...parts: string[]): string => parts.join('  ');

describe('formatProgressLine', () => {
  it('without a width (log lines) has every part, iteration and ETA first', () => {
    expect(formatProgressLine(event)).toBe(join(head, lossFull, lr, rate, gamma));
  });

  it('fits every width: iteration and ETA first, then loss, lr, img/s, gamma as space allows', () => {
    const cases: Array<[number, string]> = [
      [10, 'iter 120/3'],
      [head.length, head],
      [head.length + 2 + lossShort.length - 1, head],
      [head.length + 2 + lossShort.length, join(head, lossShort)],
      [join(head, lossShort, lr).length, join(head, lossShort, lr)],
      // the loss widens to its terms once lr and img/s are in and the space is there
      [join(head, lossShort, lr, rate).length + 5, join(head, lossShort, lr, rate)],
      [join(head, lossFull, lr, rate).length, join(head, lossFull, lr, rate)],
      // gamma needs its whole width; short loss first, then the terms if they still fit
      [join(head, lossShort, lr, rate, gamma).length, join(head, lossShort, lr, rate, gamma)],
      [join(head, lossFull, lr, rate, gamma).length, join(head, lossFull, lr, rate, gamma)],
      [200, join(head, lossFull, lr, rate, gamma)],
    ];
    for (const [width, line] of cases) {
      const got = formatProgressLine(event, width);
      expect(got, `width ${width}`).toBe(line);
      expect(got.length, `width ${width}`).toBeLessThanOrEqual(width);
    }
  });

  it('an unknown ETA and the first iteration', () => {
    expect(formatProgressLine({ ...event, iteration: 0, etaSeconds: Infinity }, 40)).toBe(join('iter 1/300', 'ETA ?', lossShort, lr));
    expect(formatDuration(3 * 3600 + 125)).toBe('3h02m');
  });
});
