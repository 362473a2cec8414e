// The stable-gain protocol (docs/architecture.md section 5) from code: baseline vs HPF for the chosen
// detectors and seeds, each run in its own `hpf train` process, then the report (Markdown, JSON,
// SVG/PNG charts). Re-running the same command resumes: finished runs are kept.
//   node examples/stable-gain/run.mjs [--detectors atss,fcos] [--seeds 3] [--steps 600] [--jobs 2] [--out runs/stable-gain]
// The same as: hpf bench stable-gain --preset quick --detectors ... && hpf report <out>
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { BENCH_PRESETS, parseDetectorList, runBench, writeReport } from '@hpf/cli';

const { values: args } = parseArgs({
  options: {
    detectors: { type: 'string', default: 'atss,retinanet,fcos' },
    seeds: { type: 'string', default: '3' },
    steps: { type: 'string', default: String(BENCH_PRESETS.quick.steps) },
    jobs: { type: 'string', default: '2' },
    out: { type: 'string', default: 'runs/stable-gain' },
  },
  strict: true,
});
const cliPath = join(dirname(createRequire(import.meta.url).resolve('@hpf/cli/package.json')), 'dist', 'cli.js');
const config = {
  format: 1,
  preset: 'quick',
  detectors: parseDetectorList(args.detectors),
  seeds: Array.from({ length: Number(args.seeds) }, (_, i) => i),
  data: BENCH_PRESETS.quick.data,
  steps: Number(args.steps),
  batchSize: BENCH_PRESETS.quick.batchSize,
  lr: BENCH_PRESETS.quick.lr,
  backbone: BENCH_PRESETS.quick.backbone,
  hpfDelta: 0.5,
  extraArgs: [...BENCH_PRESETS.quick.trainArgs],
};
const outcome = await runBench(args.out, config, { jobs: Number(args.jobs), cliPath, log: (l) => console.log(`[bench] ${l}`) });
const { markdown, files } = await writeReport(args.out);
console.log(markdown);
console.log(`finished now ${outcome.done.length}, earlier ${outcome.skipped.length}, failed ${outcome.failed.length}; report: ${files[0]}`);
