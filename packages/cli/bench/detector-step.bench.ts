/**
 * Where a wasm training step of the stable-gain detectors spends its time, per kernel, and by
 * phase (forward + loss, backward + clipping, SGD update, JS outside kernels). Not a test.
 *
 * Run from the repository root (sources, no build needed):
 *   node --import tsx packages/cli/bench/detector-step.bench.ts [--detectors atss,fcos,gfl] [--runs 5] [--top 25]
 *
 * Network and step are the `quick` stable-gain preset's (packages/cli/src/bench.ts): resnet10-mini,
 * 32-channel FPN and head, 2 stacked convs, 10 classes, the registry's small-input prior sizes,
 * batch 8 of 128x128, SgdMomentum(0.9, wd 1e-4) and gradient clipping at 35 through the engine's
 * Trainer (the step `hpf train`'s fit runs). Images are uniform noise with 1-12 boxes of 6-100 px per image
 * (the digits-det quick range), drawn from a fixed seed. The detectors run with hpf: false.
 *
 * --compare kernels:MaxPoolGrad,Identity times the step with those kernels as tfjs-backend-wasm
 * registers them (arm A) and as @hpf/engine replaces them (arm B), alternating step by step in one
 * process (the machine is shared, so only such interleaved ratios are meaningful); it reports the
 * median CPU and wall time of each arm over `runs` steps per arm and the ratio B / A.
 * --compare groupnorm does the same for @hpf/nn's GroupNorm: composed ops differentiated by
 * autodiff (A, the form before its custom gradient) versus the custom gradient (B).
 * --compare batchnorm: training-mode BatchNorm2d as composed ops under autodiff (A, the form
 * before src/nn/batch-norm.ts) versus its custom gradient (B).
 * --compare convfuse: every Conv2d as conv, then bias add, per-channel scale/shift (an eval-mode
 * BatchNorm) and ReLU as separate kernels (A, the form before) versus folded into one FusedConv2D
 * where tfjs fuses (B). --compare norm-conv switches both at once.
 * --predict (with --compare): the arms time `detector.predict` (eval-mode forward, decoding,
 * post-processing; score threshold 0.05) instead of a training step.
 *
 * Per-kernel times count top-level kernel calls only (an engine composite kernel includes the wasm
 * kernels it calls); "JS outside kernels" is the phase's wall time minus its kernels' time (tape
 * bookkeeping, target assignment on plain arrays, tensor creation). Each number is the mean over
 * `runs` profiled steps after two warm-up steps; the step time alone is also given as the median
 * of the same steps.
 */
import { register } from 'node:module';
import { parseArgs } from 'node:util';
import type { KernelConfig, Tensor, Tensor4D } from '@tensorflow/tfjs-core';

register('../../../tools/sources-resolve-hook.mjs', import.meta.url);

const tf = await import('@tensorflow/tfjs-core');
await import('@tensorflow/tfjs-backend-wasm');
// The backend's own kernels, before @hpf/engine replaces some of them (for --compare).
const nativeKernels = new Map(tf.getKernelsForBackend('wasm').map((k) => [k.kernelName, { ...k }] as const));
const { installTrainingKernels, createRng } = await import('@hpf/engine');
const { Trainer } = await import('@hpf/engine/node');
const { median } = await import('./support/quick.js');
const { KernelProfiler, cpuMs, profileTables } = await import('./support/kernel-profiler.js');
const { createQuickDetector } = await import('./support/quick-detector.js');

const { values } = parseArgs({
  options: {
    detectors: { type: 'string', default: 'atss,fcos,gfl' },
    runs: { type: 'string', default: '5' },
    top: { type: 'string', default: '25' },
    batch: { type: 'string', default: '8' },
    size: { type: 'string', default: '128' },
    shapes: { type: 'boolean', default: false },
    compare: { type: 'string' },
    predict: { type: 'boolean', default: false },
  },
});
const runs = Number(values.runs);
const top = Number(values.top);
const batch = Number(values.batch);
const size = Number(values.size);

installTrainingKernels();
await tf.setBackend('wasm');

const rng = createRng(7);
const images = tf.randomUniform([batch, size, size, 3], 0, 1, 'float32', 3) as Tensor4D;
const targets = Array.from({ length: batch }, () => {
  const count = rng.int(1, 13);
  const boxes = new Float32Array(4 * count);
  const labels = new Int32Array(count);
  for (let g = 0; g < count; g++) {
    const side = Math.exp(rng.uniform(Math.log(6), Math.log(100)));
    const x = rng.uniform(0, size - side);
    const y = rng.uniform(0, size - side);
    boxes.set([x, y, x + side, y + side * rng.uniform(0.7, 1)], 4 * g);
    labels[g] = rng.int(0, 10);
  }
  return { boxes, labels, ignoreBoxes: new Float32Array(0) };
});

type Phase = 'forward' | 'backward' | 'update';
const PHASES = ['forward', 'backward', 'update'] as const;
// --shapes splits each kernel by its input shapes, to find which layer a cost belongs to.
const profiler = new KernelProfiler<Phase>(PHASES, (name, inputs) =>
  values.shapes ? `${name} ${Object.values(inputs).map((t) => `[${t?.shape.join('x')}]`).join(' ')}` : name,
);

async function profileDetector(name: string): Promise<void> {
  const detector = await createQuickDetector(name);
  const trainer = new Trainer(detector, { lr: () => 0.01, momentum: 0.9, weightDecay: 1e-4, clipGradNorm: 35 });
  const { optimizer, variables } = trainer;
  const innerStep = optimizer.step.bind(optimizer);
  const innerLoss = detector.computeLoss.bind(detector);
  let mark = 0;
  // CPU ms per phase, kernels and JS together (the profiler books the kernels' share).
  const phaseCpu: Record<Phase, number> = { forward: 0, backward: 0, update: 0 };
  const lap = (next: Phase): void => {
    const now = cpuMs();
    if (profiler.isRecording) phaseCpu[profiler.part] += now - mark;
    mark = now;
    profiler.part = next;
  };
  // The phase boundaries: the loss is computed (backward starts), the optimizer is called (update starts).
  detector.computeLoss = (...args) => {
    const result = innerLoss(...args);
    lap('backward');
    return result;
  };
  optimizer.step = (grads, lr) => {
    lap('update');
    innerStep(grads, lr);
  };
  const wallTimes: number[] = [];
  let iteration = 0;
  const step = (): number => {
    const wallStart = performance.now();
    const start = cpuMs();
    mark = start;
    profiler.part = 'forward';
    trainer.step({ images, targets }, iteration++);
    lap('forward');
    wallTimes.push(performance.now() - wallStart);
    return cpuMs() - start;
  };
  step();
  step();
  const tensors = tf.memory().numTensors;
  profiler.start();
  const times: number[] = [];
  wallTimes.length = 0;
  for (let i = 0; i < runs; i++) times.push(step());
  const p = profiler.stop();
  if (tf.memory().numTensors !== tensors) throw new Error(`${name}: numTensors ${tensors} -> ${tf.memory().numTensors} over ${runs} steps`);
  const mean = times.reduce((a, b) => a + b, 0) / runs;
  console.log(
    `\n## ${name}: step ${mean.toFixed(0)} ms CPU (mean of ${runs}; median ${median(times).toFixed(0)} ms CPU, ${median(wallTimes).toFixed(0)} ms wall), ${variables.length} variables\n`,
  );
  console.log(profileTables(p, phaseCpu, { runs, meanMs: mean, top, unit: 'step', partHeading: 'phase', kernelHeading: 'kernel', digits: 1 }).join('\n'));
  trainer.dispose();
  detector.dispose();
}

interface Arm {
  name: string;
  apply(): void;
}

function kernelArms(names: string[]): [Arm, Arm] {
  const set = (configs: KernelConfig[]): void => {
    for (const config of configs) {
      if (tf.getKernel(config.kernelName, 'wasm') !== undefined) tf.unregisterKernel(config.kernelName, 'wasm');
      tf.registerKernel(config);
      // tfjs runs setup functions only when a backend is selected; native kernels bind their
      // wasm exports there.
      config.setupFunc?.(tf.backend());
    }
  };
  const lookup = (source: (n: string) => KernelConfig | undefined, what: string) =>
    names.map((n) => {
      const config = source(n);
      if (config === undefined) throw new Error(`--compare: the wasm backend has no ${what} kernel '${n}'`);
      return { ...config };
    });
  const native = lookup((n) => nativeKernels.get(n), 'native');
  const engine = lookup((n) => tf.getKernel(n, 'wasm'), 'engine');
  return [
    { name: `native ${names.join(', ')}`, apply: () => set(native) },
    { name: `engine ${names.join(', ')}`, apply: () => set(engine) },
  ];
}

/** GroupNorm as @hpf/nn composed it before its custom gradient (arm A of --compare groupnorm). */
async function groupNormArms(): Promise<[Arm, Arm]> {
  const { GroupNorm } = await import('@hpf/nn');
  const custom = GroupNorm.prototype.forward;
  function composed(this: InstanceType<typeof GroupNorm>, x: Tensor4D): Tensor4D {
    return tf.tidy(() => {
      const [n, h, w, c] = x.shape;
      const grouped = tf.reshape(x, [n, h, w, this.numGroups, c / this.numGroups]);
      const { mean, variance } = tf.moments(grouped, [1, 2, 4], true);
      const normed = tf.reshape(tf.mul(tf.sub(grouped, mean), tf.rsqrt(tf.add(variance, this.eps))), x.shape);
      if (this.weight === null || this.bias === null) return normed as Tensor4D;
      return tf.add(tf.mul(normed, this.weight), this.bias) as Tensor4D;
    });
  }
  return [
    { name: 'GroupNorm composed (autodiff)', apply: () => (GroupNorm.prototype.forward = composed) },
    { name: 'GroupNorm custom gradient', apply: () => (GroupNorm.prototype.forward = custom) },
  ];
}

/** Training-mode BatchNorm2d as @hpf/nn composed it before its custom gradient (arm A). */
async function batchNormArms(): Promise<[Arm, Arm]> {
  const { BatchNorm2d } = await import('@hpf/nn');
  const custom = BatchNorm2d.prototype.forward;
  function composed(this: InstanceType<typeof BatchNorm2d>, x: Tensor4D): Tensor4D {
    if (!this.usesBatchStats) return custom.call(this, x);
    const count = x.shape[0] * x.shape[1] * x.shape[2];
    return tf.tidy(() => {
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      const m = this.momentum;
      tf.tidy(() => {
        this.runningMean.assign(tf.add(tf.mul(this.runningMean, 1 - m), tf.mul(mean, m)));
        this.runningVar.assign(tf.add(tf.mul(this.runningVar, 1 - m), tf.mul(tf.mul(variance, count / (count - 1)), m)));
      });
      const normed = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, this.eps)));
      return tf.add(tf.mul(normed, this.weight), this.bias) as Tensor4D;
    });
  }
  return [
    { name: 'BatchNorm2d composed (autodiff)', apply: () => (BatchNorm2d.prototype.forward = composed) },
    { name: 'BatchNorm2d custom gradient', apply: () => (BatchNorm2d.prototype.forward = custom) },
  ];
}

/** Conv2d with its bias, a folded scale/shift and ReLU as separate kernels (arm A). */
async function convFuseArms(): Promise<[Arm, Arm]> {
  const { Conv2d } = await import('@hpf/nn');
  const fused = Conv2d.prototype.forwardFused;
  type Options = Parameters<typeof fused>[1];
  function separate(this: InstanceType<typeof Conv2d>, x: Tensor4D, options: Options = {}): Tensor4D {
    return tf.tidy(() => {
      const [ph, pw] = this.padding;
      const pad = ph === pw ? ph : ([[0, 0], [ph, ph], [pw, pw], [0, 0]] as [[number, number], [number, number], [number, number], [number, number]]);
      let y: Tensor = tf.conv2d(x, this.weight as Tensor4D, this.stride, pad, 'NHWC', this.dilation);
      if (this.bias !== null) y = tf.add(y, this.bias);
      if (options.scale !== undefined) y = tf.mul(y, options.scale);
      if (options.shift !== undefined) y = tf.add(y, options.shift);
      return (options.relu === true ? tf.relu(y) : y) as Tensor4D;
    });
  }
  const folded = Conv2d.prototype.forwardFoldedBatchNorm;
  function unfolded(this: InstanceType<typeof Conv2d>, x: Tensor4D, norm: Parameters<typeof folded>[1], relu: boolean): Tensor4D {
    return tf.tidy(() => separate.call(this, x, { ...norm.scaleShift(), relu }));
  }
  return [
    {
      name: 'Conv2d bias/scale/shift/ReLU as separate kernels',
      apply: () => {
        Conv2d.prototype.forwardFused = separate;
        Conv2d.prototype.forwardFoldedBatchNorm = unfolded;
      },
    },
    {
      name: 'Conv2d folded into FusedConv2D',
      apply: () => {
        Conv2d.prototype.forwardFused = fused;
        Conv2d.prototype.forwardFoldedBatchNorm = folded;
      },
    },
  ];
}

async function armsFor(spec: string): Promise<[Arm, Arm]> {
  if (spec === 'groupnorm') return groupNormArms();
  if (spec === 'batchnorm') return batchNormArms();
  if (spec === 'convfuse') return convFuseArms();
  if (spec === 'norm-conv') {
    const [bnA, bnB] = await batchNormArms();
    const [convA, convB] = await convFuseArms();
    return [
      { name: `${bnA.name}; ${convA.name}`, apply: () => (bnA.apply(), convA.apply()) },
      { name: `${bnB.name}; ${convB.name}`, apply: () => (bnB.apply(), convB.apply()) },
    ];
  }
  const [kind, list] = spec.split(':');
  if (kind === 'kernels' && list !== undefined && list !== '') return kernelArms(list.split(','));
  throw new Error(`--compare: expected 'kernels:<Name>,<Name>...', 'groupnorm', 'batchnorm', 'convfuse' or 'norm-conv', got '${spec}'`);
}

async function compareDetector(name: string, arms: [Arm, Arm]): Promise<void> {
  const detector = await createQuickDetector(name);
  const trainer = new Trainer(detector, { lr: () => 0.01, momentum: 0.9, weightDecay: 1e-4, clipGradNorm: 35 });
  const predict = async (): Promise<[number, number]> => {
    const wall = performance.now();
    const cpu = cpuMs();
    await detector.predict(images);
    return [cpuMs() - cpu, performance.now() - wall];
  };
  let iteration = 0;
  const train = async (): Promise<[number, number]> => {
    const wall = performance.now();
    const cpu = cpuMs();
    trainer.step({ images, targets }, iteration++);
    return [cpuMs() - cpu, performance.now() - wall];
  };
  const step = values.predict ? predict : train;
  // Counted after the warm-up steps, which create the optimizer's momentum buffers.
  let tensors = 0;
  const cpuTimes: number[][] = [[], []];
  const wallTimes: number[][] = [[], []];
  for (let i = 0; i < runs + 2; i++) {
    if (i === 2) tensors = tf.memory().numTensors;
    // Alternate which arm goes first, so neither always follows the other's heap state.
    for (const a of i % 2 === 0 ? [0, 1] : [1, 0]) {
      arms[a]!.apply();
      const [cpu, wall] = await step();
      if (i >= 2) {
        cpuTimes[a]!.push(cpu);
        wallTimes[a]!.push(wall);
      }
    }
  }
  arms[1].apply();
  if (tf.memory().numTensors !== tensors) throw new Error(`${name}: numTensors ${tensors} -> ${tf.memory().numTensors} over the compared steps`);
  const [a, b] = cpuTimes.map(median) as [number, number];
  const [wa, wb] = wallTimes.map(median) as [number, number];
  console.log(`| ${name} | ${a.toFixed(0)} | ${b.toFixed(0)} | ${(b / a).toFixed(3)} | ${wa.toFixed(0)} | ${wb.toFixed(0)} | ${(wb / wa).toFixed(3)} |`);
  trainer.dispose();
  detector.dispose();
}

if (values.compare !== undefined) {
  const arms = await armsFor(values.compare);
  const what = values.predict ? 'predicts' : 'training steps';
  console.log(`A: ${arms[0].name}; B: ${arms[1].name}; median of ${runs} ${what} per arm, interleaved`);
  console.log('\n| detector | A CPU ms | B CPU ms | B / A CPU | A wall ms | B wall ms | B / A wall |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const name of values.detectors.split(',')) await compareDetector(name.trim(), arms);
} else {
  profiler.wrap(tf);
  for (const name of values.detectors.split(',')) await profileDetector(name.trim());
  profiler.unwrap();
}
images.dispose();
