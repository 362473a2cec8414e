/**
 * Training-step speed of the reference net on the wasm backend versus the cpu backend.
 * Run from the repository root: `npm run bench:backend`
 * Options: --runs N (wasm, default 7), --cpu-runs N (default 5, 0 skips cpu), --batch N, --size N,
 * --native (also time wasm with tfjs-backend-wasm's own Conv2DBackpropInput).
 *
 * Reference net: stride-2 conv stem (32, 64, 128, 128, 128 channels, GroupNorm + ReLU), a 3-level
 * FPN of 64 channels on the last three stem outputs (P3-P5), a shared 2-conv head with sigmoid;
 * forward + backward + SGD step on 8 images of 128x128. Each timing is the median of the runs
 * after one warm-up step.
 */
import { register } from 'node:module';
import { parseArgs } from 'node:util';

register('./support/tfjs-core-resolve-hook.mjs', import.meta.url);

const tf = await import('@tensorflow/tfjs-core');
await import('@tensorflow/tfjs-backend-cpu');
const wasmBackend = await import('@tensorflow/tfjs-backend-wasm');
const { registerWasmTrainingKernels } = await import('../src/index.js');
const { createConvNet, makeBatch } = await import('../test/support/conv-net.js');
const { median, REFERENCE_NET } = await import('./support/reference.js');

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '7' },
    'cpu-runs': { type: 'string', default: '5' },
    batch: { type: 'string', default: '8' },
    size: { type: 'string', default: '128' },
    native: { type: 'boolean', default: false },
  },
});
const runs = Number(values.runs);
const cpuRuns = Number(values['cpu-runs']);
const batch = Number(values.batch);
const size = Number(values.size);

interface Timing {
  /** Median wall-clock seconds per step. */
  median: number;
  all: number[];
  /** Median process CPU seconds per step: on a shared machine this is what the step itself costs. */
  cpuMedian: number;
}

async function timeTrainingStep(backend: string, timedRuns: number): Promise<Timing> {
  await tf.setBackend(backend);
  const net = createConvNet(REFERENCE_NET);
  const { images, targets, positives } = makeBatch(net, batch, size, 2, 64);
  const optimizer = tf.train.sgd(0.01);
  const step = (): void => {
    const loss = optimizer.minimize(() => net.loss(images, targets, positives), true, net.variables);
    loss?.dataSync();
    loss?.dispose();
  };
  step(); // warm-up: XNNPACK operator creation, heap growth
  const times: number[] = [];
  const cpuTimes: number[] = [];
  for (let i = 0; i < timedRuns; i++) {
    const start = performance.now();
    const cpuStart = process.cpuUsage();
    step();
    const cpu = process.cpuUsage(cpuStart);
    times.push((performance.now() - start) / 1000);
    cpuTimes.push((cpu.user + cpu.system) / 1e6);
    if (backend === 'cpu') console.log(`  cpu step ${i + 1}/${timedRuns}: ${times[i]!.toFixed(2)} s wall, ${cpuTimes[i]!.toFixed(2)} s CPU`);
  }
  optimizer.dispose();
  net.dispose();
  tf.dispose([images, ...targets, ...positives]);
  return { median: median(times), all: times, cpuMedian: median(cpuTimes) };
}

const format = (r: Timing, n: number): string =>
  `median ${r.median.toFixed(3)} s wall, ${r.cpuMedian.toFixed(3)} s CPU over ${n} runs [${r.all.map((t) => t.toFixed(3)).join(', ')}]`;

registerWasmTrainingKernels();
wasmBackend.setThreadsCount(2);
await tf.setBackend('wasm');
const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
console.log(
  `wasm: SIMD=${String(simd)} multithread=${String(threads)} threads=${wasmBackend.getThreadsCount()} (after setThreadsCount(2))`,
);
console.log(`reference net, batch ${batch} x ${size}x${size}, forward + backward + SGD step`);

const wasm = await timeTrainingStep('wasm', runs);
console.log(`wasm step (engine kernels):              ${format(wasm, runs)}`);
if (values.native) {
  registerWasmTrainingKernels({ replaceSlowKernels: false });
  const native = await timeTrainingStep('wasm', runs);
  registerWasmTrainingKernels();
  console.log(`wasm step (native Conv2DBackpropInput):  ${format(native, runs)}`);
  console.log(`engine kernels / native: ${(wasm.median / native.median).toFixed(3)} wall, ${(wasm.cpuMedian / native.cpuMedian).toFixed(3)} CPU`);
}
if (cpuRuns > 0) {
  const cpu = await timeTrainingStep('cpu', cpuRuns);
  console.log(`cpu step:                                ${format(cpu, cpuRuns)}`);
  console.log(`wasm / cpu step time: ${(wasm.median / cpu.median).toFixed(3)} wall, ${(wasm.cpuMedian / cpu.cpuMedian).toFixed(3)} CPU (cpu backend is ${(cpu.median / wasm.median).toFixed(1)}x slower)`);
}
