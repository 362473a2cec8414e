/**
 * Training-step speed of the reference net on the wasm backend versus the cpu backend.
 * Run from the repository root: `npm run bench:backend`
 * Options: --runs N (wasm, default 7), --batch N (8), --size N (128), --native (also time wasm
 * with tfjs-backend-wasm's own Conv2DBackpropInput), --cpu-runs N (5; 0 skips the cpu backend),
 * --cpu-batch N (1) and --cpu-size N (64): the cpu backend takes minutes per step at full size,
 * so the wasm/cpu ratio is measured on both backends at this reduced size.
 *
 * Reference net: stride-2 conv stem (32, 64, 128, 128, 128 channels, GroupNorm + ReLU), a 3-level
 * FPN of 64 channels on the last three stem outputs (P3-P5), a shared 2-conv head with sigmoid;
 * forward + backward + SGD step on 8 images of 128x128. Each timing is the median of the runs
 * after one warm-up step.
 */
import { register } from 'node:module';
import { parseArgs } from 'node:util';

register('../../../tools/tfjs-core-resolve-hook.mjs', import.meta.url);

const tf = await import('@tensorflow/tfjs-core');
await import('@tensorflow/tfjs-backend-cpu');
const wasmBackend = await import('@tensorflow/tfjs-backend-wasm');
const { installTrainingKernels, registerWasmTrainingKernels } = await import('../src/index.js');
const { createConvNet, makeBatch } = await import('../test/support/conv-net.js');
const { median, REFERENCE_NET } = await import('./support/reference.js');

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '7' },
    'cpu-runs': { type: 'string', default: '5' },
    batch: { type: 'string', default: '8' },
    size: { type: 'string', default: '128' },
    native: { type: 'boolean', default: false },
    'cpu-batch': { type: 'string', default: '1' },
    'cpu-size': { type: 'string', default: '64' },
  },
});
const runs = Number(values.runs);
const cpuRuns = Number(values['cpu-runs']);
const batch = Number(values.batch);
const size = Number(values.size);
const cpuBatch = Number(values['cpu-batch']);
const cpuSize = Number(values['cpu-size']);

interface Timing {
  /** Median wall-clock seconds per step. */
  median: number;
  all: number[];
  /** Median process CPU seconds per step: on a shared machine this is what the step itself costs. */
  cpuMedian: number;
}

async function timeTrainingStep(backend: string, timedRuns: number, batch: number, size: number): Promise<Timing> {
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

installTrainingKernels();
wasmBackend.setThreadsCount(2);
await tf.setBackend('wasm');
const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
console.log(
  `wasm: SIMD=${String(simd)} multithread=${String(threads)} threads=${wasmBackend.getThreadsCount()} (after setThreadsCount(2))`,
);
console.log(`reference net, batch ${batch} x ${size}x${size}, forward + backward + SGD step`);

const wasm = await timeTrainingStep('wasm', runs, batch, size);
console.log(`wasm step (engine kernels):              ${format(wasm, runs)}`);
if (values.native) {
  registerWasmTrainingKernels({ replaceSlowKernels: false });
  const native = await timeTrainingStep('wasm', runs, batch, size);
  registerWasmTrainingKernels();
  console.log(`wasm step (native Conv2DBackpropInput):  ${format(native, runs)}`);
  console.log(`engine kernels / native: ${(wasm.median / native.median).toFixed(3)} wall, ${(wasm.cpuMedian / native.cpuMedian).toFixed(3)} CPU`);
}
if (cpuRuns > 0) {
  console.log(`wasm vs cpu backend at batch ${cpuBatch} x ${cpuSize}x${cpuSize}:`);
  const small = await timeTrainingStep('wasm', runs, cpuBatch, cpuSize);
  console.log(`wasm step:                               ${format(small, runs)}`);
  const cpu = await timeTrainingStep('cpu', cpuRuns, cpuBatch, cpuSize);
  console.log(`cpu step:                                ${format(cpu, cpuRuns)}`);
  console.log(
    `wasm / cpu step time: ${(small.median / cpu.median).toFixed(3)} wall, ${(small.cpuMedian / cpu.cpuMedian).toFixed(3)} CPU (cpu backend is ${(cpu.median / small.median).toFixed(1)}x slower)`,
  );
}
