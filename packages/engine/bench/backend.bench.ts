/**
 * Training-step speed of the reference net on the wasm backend versus the cpu backend.
 * Run from the repository root: `npm run bench:backend` (options: --runs N, --cpu-runs N, --batch N).
 *
 * Reference net: stride-2 conv stem (32, 64, 128, 128, 128 channels, GroupNorm + ReLU), a 3-level
 * FPN of 64 channels on the last three stem outputs (P3-P5), a shared 2-conv head with sigmoid;
 * forward + backward + SGD step on 8 images of 128x128.
 */
import { register } from 'node:module';
import { parseArgs } from 'node:util';

register('./support/tfjs-core-resolve-hook.mjs', import.meta.url);

const tf = await import('@tensorflow/tfjs-core');
await import('@tensorflow/tfjs-backend-cpu');
const wasmBackend = await import('@tensorflow/tfjs-backend-wasm');
const { registerWasmTrainingKernels } = await import('../src/index.js');
const { createConvNet, makeBatch } = await import('../test/support/conv-net.js');

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '7' },
    'cpu-runs': { type: 'string', default: '5' },
    batch: { type: 'string', default: '8' },
    size: { type: 'string', default: '128' },
  },
});
const runs = Number(values.runs);
const cpuRuns = Number(values['cpu-runs']);
const batch = Number(values.batch);
const size = Number(values.size);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

async function timeTrainingStep(backend: string, timedRuns: number): Promise<{ median: number; all: number[] }> {
  await tf.setBackend(backend);
  const net = createConvNet({ stemChannels: [32, 64, 128, 128, 128], fpnChannels: 64, numOutputs: 10, groups: 8, seed: 1 });
  const { images, targets, positives } = makeBatch(net, batch, size, 2, 64);
  const optimizer = tf.train.sgd(0.01);
  const step = (): void => {
    const loss = optimizer.minimize(() => net.loss(images, targets, positives), true, net.variables);
    loss?.dataSync();
    loss?.dispose();
  };
  step(); // warm-up: XNNPACK operator creation, heap growth
  const times: number[] = [];
  for (let i = 0; i < timedRuns; i++) {
    const start = performance.now();
    step();
    times.push((performance.now() - start) / 1000);
  }
  optimizer.dispose();
  net.dispose();
  tf.dispose([images, ...targets, ...positives]);
  return { median: median(times), all: times };
}

registerWasmTrainingKernels();
wasmBackend.setThreadsCount(2);
await tf.setBackend('wasm');
const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
console.log(
  `wasm: SIMD=${String(simd)} multithread=${String(threads)} threads used=${wasmBackend.getThreadsCount()} (setThreadsCount(2) requested)`,
);
console.log(`reference net, batch ${batch} x ${size}x${size}, forward + backward + SGD step`);

const wasm = await timeTrainingStep('wasm', runs);
console.log(`wasm step: median ${wasm.median.toFixed(3)} s over ${runs} runs [${wasm.all.map((t) => t.toFixed(3)).join(', ')}]`);
if (cpuRuns > 0) {
  const cpu = await timeTrainingStep('cpu', cpuRuns);
  console.log(`cpu  step: median ${cpu.median.toFixed(3)} s over ${cpuRuns} runs [${cpu.all.map((t) => t.toFixed(3)).join(', ')}]`);
  console.log(`wasm / cpu step time: ${(wasm.median / cpu.median).toFixed(3)} (cpu is ${(cpu.median / wasm.median).toFixed(1)}x slower)`);
}
