#!/usr/bin/env node
// How sensitive are the adapters' overfit tests to last-bit rounding? Runs every
// packages/<detector>/test/overfit.test.ts once per jitter seed (initial weights x (1 + scale * u),
// u uniform in [-1, 1]; scale 1e-7 is about one float32 ulp), through vitest with the harness
// options in OVERFIT_HARNESS, collects the harness's OVERFIT_REPORT lines and prints AP50
// min / median / max per test. Run from the repository root:
//   node packages/testkit/bench/overfit-sensitivity.mjs --seeds 4 [--harness '{"clipGradNorm":null,"warmupIters":0}']
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const ALL = ['retinanet', 'fcos', 'atss', 'foveabox', 'gfl', 'vfnet', 'freeanchor', 'paa', 'tood'];
const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '4' },
    scale: { type: 'string', default: '1e-7' },
    harness: { type: 'string', default: '{}' },
    detectors: { type: 'string', default: ALL.join(',') },
    'no-unperturbed': { type: 'boolean', default: false },
    out: { type: 'string', default: 'runs/overfit-sensitivity.jsonl' },
  },
});
const seeds = Number(values.seeds);
const scale = Number(values.scale);
if (!Number.isInteger(seeds) || seeds < 0) throw new Error(`--seeds must be a non-negative integer, got ${values.seeds}`);
if (!(scale >= 0)) throw new Error(`--scale must be a number >= 0, got ${values.scale}`);
let harness;
try {
  harness = JSON.parse(values.harness);
} catch (error) {
  throw new Error(`--harness is not JSON: ${values.harness}`, { cause: error });
}
const detectors = values.detectors.split(',');
const unknown = detectors.find((d) => !ALL.includes(d));
if (unknown !== undefined) throw new Error(`--detectors: unknown detector '${unknown}' (known: ${ALL.join(', ')})`);
const files = detectors.map((d) => `packages/${d}/test/overfit.test.ts`);

if (existsSync(values.out)) rmSync(values.out);
writeFileSync(values.out, '');
const arms = [...(values['no-unperturbed'] ? [] : [null]), ...Array.from({ length: seeds }, (_, seed) => ({ scale, seed }))];
for (const jitter of arms) {
  const env = { ...process.env, OVERFIT_REPORT: values.out, OVERFIT_HARNESS: JSON.stringify(jitter === null ? harness : { ...harness, jitter }) };
  const started = Date.now();
  // Test failures are data here (the AP50 is in the report), so the exit code is not checked.
  spawnSync('npx', ['vitest', 'run', ...files], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  console.error(`jitter ${jitter === null ? 'none' : `seed ${jitter.seed}`}: ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

const rows = readFileSync(values.out, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
const byTest = new Map();
for (const r of rows) {
  const key = `${r.detector} ${r.test.includes('hpf: true') ? 'hpf' : 'base'}`;
  byTest.set(key, [...(byTest.get(key) ?? []), r]);
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
console.log(`harness ${JSON.stringify(harness)}, jitter scale ${scale}, ${seeds} seeds${values['no-unperturbed'] ? '' : ' + unperturbed'}`);
console.log('test                 runs  AP50 min  median  max   below 0.9  s/run');
for (const [key, rs] of [...byTest].sort()) {
  const ap = rs.map((r) => r.AP50);
  console.log(
    `${key.padEnd(20)} ${String(rs.length).padStart(4)}  ${Math.min(...ap).toFixed(3).padStart(8)}  ${median(ap).toFixed(3)}  ${Math.max(...ap).toFixed(3)}  ${String(ap.filter((a) => !(a >= 0.9)).length).padStart(9)}  ${median(rs.map((r) => r.seconds)).toFixed(1).padStart(5)}`,
  );
}
