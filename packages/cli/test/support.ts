import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PRESETS, writeDigitsDet } from '@hpf/digits-det';
import { TRAIN_DEFAULTS, type TrainOptions } from '../src/train.js';

/** A COCO root with 8 training and 4 validation digits-det images (128 px). */
export function tinyDataset(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hpf-cli-data-'));
  writeDigitsDet(dir, { preset: PRESETS.quick, seed: 0, train: 8, val: 4 });
  return dir;
}

/** A model small enough to train a few steps on the cpu backend in a second or two. */
export function tinyOptions(data: string, out: string, overrides: Partial<TrainOptions> = {}): TrainOptions {
  return {
    ...TRAIN_DEFAULTS,
    detector: 'atss',
    hpf: true,
    data,
    out,
    steps: 6,
    batchSize: 2,
    inputSize: 64,
    backbone: 'resnet10-mini',
    neckChannels: 32,
    featChannels: 32,
    stackedConvs: 1,
    evaluate: false,
    ...overrides,
  };
}
