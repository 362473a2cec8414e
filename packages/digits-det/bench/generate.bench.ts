/**
 * Generation speed of digits-det, per image, median of 5 runs:
 *   node --import tsx packages/digits-det/bench/generate.bench.ts [quick|full]
 * Baseline in the same run: PNG-encoding the same images alone (the unavoidable I/O part), so the
 * ratio says how much the drawing costs on top of writing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeImage } from '@hpf/data';
import { generateSplit, presetByName, writeDigitsDet } from '../src/index.js';

const preset = presetByName(process.argv[2] ?? 'quick');
const count = preset.name === 'quick' ? 96 : 24;
const runs = 5;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const images = [...generateSplit(preset, 'train', 0, count)].map((g) => g.image); // also warms up mnist + JIT
const encodeMs: number[] = [];
const writeMs: number[] = [];
for (let r = 0; r < runs; r++) {
  let t = performance.now();
  for (const im of images) encodeImage(im, 'x.png');
  encodeMs.push((performance.now() - t) / count);
  const dir = mkdtempSync(join(tmpdir(), 'hpf-digits-bench-'));
  t = performance.now();
  writeDigitsDet(dir, { preset, seed: r, train: count, val: 0 });
  writeMs.push((performance.now() - t) / count);
  rmSync(dir, { recursive: true, force: true });
}
const perImage = median(writeMs);
const base = median(encodeMs);
console.log(`digits-det ${preset.name}: generate+write ${perImage.toFixed(2)} ms/image, PNG encode alone ${base.toFixed(2)} ms/image, ratio ${(perImage / base).toFixed(2)}`);
console.log(`=> the ${preset.train}/${preset.val} preset takes ~${((perImage * (preset.train + preset.val)) / 1000).toFixed(1)} s plus ~0.6 s loading mnist`);
