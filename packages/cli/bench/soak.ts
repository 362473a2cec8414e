/**
 * Soak check: many training iterations of one quick-preset detector (default ATSS with HPF), as
 * `hpf train` runs them (same data order, loader, optimizer, clipping and learning-rate schedule),
 * asserting that tf.memory().numTensors stays flat after warm-up and that the process RSS stays
 * bounded.
 *
 *   npm run bench:soak -- [--detector atss] [--no-hpf] [--iters 2000] [--warmup 200] [--every 200] [--max-rss-growth 0.15]
 *
 * Exit code 1 (with the reason) when the tensor count moves after warm-up or RSS grows by more than
 * --max-rss-growth between the end of warm-up and the last iteration. The learning rate follows the
 * quick preset's 300-step schedule (it ends at 1e-2 of the base rate and stays there), so the run
 * cannot diverge late; memory use does not depend on the rate. Started with --expose-gc (as
 * `npm run bench:soak` does), it collects garbage before every sample, so heap and RSS show what is
 * retained rather than when V8 last ran a full collection.
 */
import { register } from 'node:module';
import { parseArgs } from 'node:util';

register('../../../tools/tfjs-core-resolve-hook.mjs', import.meta.url);

const { values } = parseArgs({
  options: {
    detector: { type: 'string', default: 'atss' },
    'no-hpf': { type: 'boolean', default: false },
    iters: { type: 'string', default: '2000' },
    warmup: { type: 'string', default: '200' },
    every: { type: 'string', default: '200' },
    'max-rss-growth': { type: 'string', default: '0.15' },
    'data-cache': { type: 'string', default: 'runs/data' },
  },
  strict: true,
});

function positiveInt(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, got '${value}'`);
  return n;
}
const iters = positiveInt('iters', values.iters);
const warmup = positiveInt('warmup', values.warmup);
const every = positiveInt('every', values.every);
const maxGrowth = Number(values['max-rss-growth']);
if (!(maxGrowth > 0)) throw new Error(`--max-rss-growth must be a number > 0, got '${values['max-rss-growth']}'`);
if (warmup >= iters) throw new Error(`--warmup (${warmup}) must be below --iters (${iters})`);

// tfjs-core's package entry first: @hpf/engine's sources import tfjs-core's ESM gradient files,
// and the tensor engine must be the one whose Tensor class has the chained ops installed.
await import('@tensorflow/tfjs-core');
const { initBackend, formatBackendChoice } = await import('@hpf/engine/node');
const { parseDetectorList } = await import('../src/registry.js');
const { createQuickTrainer, loadQuickData, tf, QUICK } = await import('./support/quick.js');

const [detectorName] = parseDetectorList(values.detector);
if (detectorName === undefined || values.detector.includes(',') || values.detector === 'all') throw new Error(`--detector takes one detector name, got '${values.detector}'`);
const hpf = !values['no-hpf'];
const choice = await initBackend();
console.log(formatBackendChoice(choice));

const data = loadQuickData(QUICK.batchSize, values['data-cache']);
const trainer = await createQuickTrainer(detectorName, hpf, data, QUICK.batchSize);
trainer.setEpoch(0);
const perEpoch = data.loader.batchesPerEpoch;

interface Sample {
  iteration: number;
  numTensors: number;
  numBytes: number;
  rssMiB: number;
  heapMiB: number;
  secondsPerIter: number;
  loss: number;
}
const samples: Sample[] = [];
const mib = (bytes: number): number => bytes / 2 ** 20;
console.log(`soak: ${detectorName} hpf=${hpf}, ${iters} iterations of batch ${QUICK.batchSize} (${data.inputSize} px), sample every ${every}, tensors must stay flat after iteration ${warmup}`);
console.log('| iteration | numTensors | tensor MiB | RSS MiB | heap MiB | s/iter | loss |');
console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: |');

let last = performance.now();
let lastIteration = 0;
let loss: number;
for (let iteration = 0; iteration < iters; iteration++) {
  const epoch = Math.floor(iteration / perEpoch);
  trainer.setEpoch(epoch);
  const batch = data.loader.load(data.loader.plan(epoch)[iteration % perEpoch]!);
  try {
    loss = trainer.step(batch, iteration);
  } finally {
    batch.images.dispose();
  }
  const done = iteration + 1;
  if (done % every === 0 || done === warmup || done === iters) {
    const now = performance.now();
    (globalThis as { gc?: () => void }).gc?.();
    const memory = tf.memory();
    const sample: Sample = {
      iteration: done,
      numTensors: memory.numTensors,
      numBytes: memory.numBytes,
      rssMiB: mib(process.memoryUsage.rss()),
      heapMiB: mib(process.memoryUsage().heapUsed),
      secondsPerIter: (now - last) / 1000 / (done - lastIteration),
      loss,
    };
    last = now;
    lastIteration = done;
    samples.push(sample);
    console.log(
      `| ${sample.iteration} | ${sample.numTensors} | ${mib(sample.numBytes).toFixed(1)} | ${sample.rssMiB.toFixed(0)} | ${sample.heapMiB.toFixed(0)} | ${sample.secondsPerIter.toFixed(3)} | ${loss.toFixed(4)} |`,
    );
  }
}
trainer.dispose();

const base = samples.find((s) => s.iteration === warmup)!;
const end = samples[samples.length - 1]!;
const failures: string[] = [];
const after = samples.filter((s) => s.iteration >= warmup);
const tensorCounts = new Set(after.map((s) => s.numTensors));
if (tensorCounts.size !== 1) failures.push(`numTensors moved after warm-up: ${after.map((s) => `${s.iteration}: ${s.numTensors}`).join(', ')}`);
const growth = end.rssMiB / base.rssMiB - 1;
if (growth > maxGrowth) failures.push(`RSS grew ${(growth * 100).toFixed(1)} % between iteration ${base.iteration} (${base.rssMiB.toFixed(0)} MiB) and ${end.iteration} (${end.rssMiB.toFixed(0)} MiB), limit ${(maxGrowth * 100).toFixed(0)} %`);
console.log(
  `numTensors after warm-up: ${[...tensorCounts].join(', ')}; RSS ${base.rssMiB.toFixed(0)} -> ${end.rssMiB.toFixed(0)} MiB (${(growth * 100).toFixed(1)} %, limit ${(maxGrowth * 100).toFixed(0)} %); peak RSS ${Math.max(...samples.map((s) => s.rssMiB)).toFixed(0)} MiB`,
);
if (failures.length > 0) {
  for (const f of failures) console.log(`FAIL: ${f}`);
  process.exitCode = 1;
} else {
  console.log('PASS');
}
