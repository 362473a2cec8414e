// `npm run demo`: ATSS with and without HPF on digits-det quick, one seed, the two arms as two
// parallel wasm processes through the stable-gain bench, then the report. Sized for <= 10 minutes
// on a 2-core machine: the quick preset's network (resnet10-mini, 32-channel FPN and head, 2 convs
// per tower: ~0.4 s per iteration per process), but 1200 iterations instead of the sweep's 300.
// Both arms use the same network, data order, initial weights and schedule; only `hpf` differs.
// A single seed is an anecdote, not the benchmark: `hpf bench stable-gain --seeds 3` is.
//   node examples/stable-gain/demo.mjs [--steps 1200] [--lr 0.03] [--out runs/demo]
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { BENCH_PRESETS, runBench, writeReport } from '@hpf/cli';

const { values: args } = parseArgs({
  options: {
    steps: { type: 'string', default: '1200' },
    lr: { type: 'string', default: '0.03' },
    out: { type: 'string', default: 'runs/demo' },
  },
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
  lr: Number(args.lr),
  backbone: BENCH_PRESETS.quick.backbone,
  hpfDelta: 0.5,
  extraArgs: [...BENCH_PRESETS.quick.trainArgs],
};
const outcome = await runBench(args.out, config, { jobs: 2, cliPath, log: (l) => console.log(`[demo] ${l}`) });
if (outcome.failed.length > 0) throw new Error(`demo runs failed: ${outcome.failed.map((f) => `${f.id} (${f.reason})`).join(', ')}`);
const { markdown, files } = await writeReport(args.out);
// The AP table and the summary: the rest is in the report file.
const table = markdown.split('\n## ').filter((s) => /^(AP|AP50|Summary)\n/.test(s));
console.log(`\n## ${table.join('\n## ')}`);
console.log(`report: ${files[0]} (JSON and charts beside it); total ${((performance.now() - started) / 1000).toFixed(0)} s`);
