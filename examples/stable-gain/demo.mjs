// `npm run demo` (once the lead points it here): ATSS with and without HPF on digits-det quick,
// one seed, the two arms as two parallel wasm processes through the stable-gain bench, then the
// report. Sized for <= 10 minutes on a 2-core machine (about 1-2 s per iteration per process).
// A single seed is an anecdote, not the benchmark: `hpf bench stable-gain --seeds 3` is.
//   node examples/stable-gain/demo.mjs [--steps 240] [--out runs/demo-cli]
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { BENCH_PRESETS, runBench, writeReport } from '@hpf/cli';

const { values: args } = parseArgs({
  options: { steps: { type: 'string', default: '240' }, out: { type: 'string', default: 'runs/demo-cli' } },
  strict: true,
});
const started = performance.now();
const cliPath = join(dirname(createRequire(import.meta.url).resolve('@hpf/cli/package.json')), 'dist', 'cli.js');
const config = {
  format: 1,
  preset: 'quick',
  detectors: ['atss'],
  seeds: [0],
  data: BENCH_PRESETS.quick.data,
  steps: Number(args.steps),
  batchSize: BENCH_PRESETS.quick.batchSize,
  lr: BENCH_PRESETS.quick.lr,
  backbone: 'resnet18-mini',
  hpfDelta: 0.5,
  extraArgs: [],
};
const outcome = await runBench(args.out, config, { jobs: 2, cliPath, log: (l) => console.log(`[demo] ${l}`) });
if (outcome.failed.length > 0) throw new Error(`demo runs failed: ${outcome.failed.map((f) => `${f.id} (${f.reason})`).join(', ')}`);
const { markdown, files } = await writeReport(args.out);
// The AP table and the summary: the rest is in the report file.
const table = markdown.split('\n## ').filter((s) => /^(AP|AP50|Summary)\n/.test(s));
console.log(`\n## ${table.join('\n## ')}`);
console.log(`report: ${files[0]} (JSON and charts beside it); total ${((performance.now() - started) / 1000).toFixed(0)} s`);
