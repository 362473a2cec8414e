import { beforeAll, describe, expect, it } from 'vitest';
import { runOverfit, useWasmTraining } from '@hpf/testkit';
import { createVfnet } from '../src/index.js';

// The README's small-input setting: ATSS anchors of side 2 * stride (published 8 * stride, a 64 px
// P3 anchor at 128 px) and initial boxes exp(.) x stride (published regDenoms 64 ... 1024).
const STEPS = Number(process.env.OVERFIT_STEPS ?? 50);

beforeAll(useWasmTraining);

describe('VFNet overfits a few digits-det images (wasm)', () => {
  for (const hpf of [false, true]) {
    it(`hpf: ${hpf} reaches AP50 >= 0.9 with a flat tensor count`, async () => {
      const det = createVfnet({ numClasses: 10, backbone: 'resnet10-mini', neckChannels: 32, featChannels: 32, stackedConvs: 1, octaveBaseScale: 2, regDenoms: [8, 16, 32, 64, 128], hpf, seed: 0 });
      const { stats, losses, tensorCounts } = await runOverfit(det, { steps: STEPS });
      det.dispose();
      expect(losses.every(Number.isFinite)).toBe(true);
      expect(stats.AP50).toBeGreaterThanOrEqual(0.9);
      expect(tensorCounts[tensorCounts.length - 1]).toBe(tensorCounts[10]);
    });
  }
});
