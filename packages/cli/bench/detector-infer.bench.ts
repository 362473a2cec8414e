/**
 * Where `detector.predict` of the stable-gain detectors spends its time on the wasm backend, per
 * kernel and by part: eval-mode forward (backbone, FPN, head), decode (activations and box
 * decoding), and post-processing (read-back, per-level top-k, class-aware NMS, mapping to the
 * original image). Not a test.
 *
 * Run from the repository root (sources, no build needed):
 *   node --import tsx packages/cli/bench/detector-infer.bench.ts [--detectors retinanet,fcos]
 *        [--runs 7] [--top 15] [--thresholds 0,0.05] [--batch 8] [--size 128]
 *   ... --timing-only   prints one JSON line per (detector, threshold) with the per-predict CPU and
 *        wall times and nothing else (no kernel wrapping): for A/B runs of two trees alternated
 *        by an outer script, since the machine is shared. --dump <file> also writes the detections
 *        of each (detector, threshold) to a JSON file, to check that two trees agree.
 *
 * Network: the `quick` stable-gain preset's (resnet10-mini, 32-channel FPN and head, 2 stacked
 * convs, 10 classes, the registry's small-input priors), batch 8 of 128 px uniform noise from a
 * fixed seed, initial weights of seed 0, as packages/cli/bench/speed.bench.ts's inference rows.
 * At threshold 0 every level's top 1000 (prior, class) pairs reach NMS and 100 boxes per image are
 * kept (the like-for-like case with torchvision); at 0.05 an untrained head passes few or none.
 *
 * Parts are process-CPU times (the machine is shared), as means over `runs` predicts after two
 * warm-up ones. Kernel times count top-level kernel calls only. "JS" is a part's time minus its
 * kernels' time. The post-processing breakdown times @hpf/dense's exported pieces separately on the same
 * decoded levels (read-back, topPairs, the boxes of the picked priors, batchedNmsArray), medians
 * of `runs`.
 */
import { writeFileSync } from 'node:fs';
import { register } from 'node:module';
import { parseArgs } from 'node:util';
import type { Tensor3D, Tensor4D } from '@tensorflow/tfjs-core';

register('../../../tools/sources-resolve-hook.mjs', import.meta.url);

const tf = await import('@tensorflow/tfjs-core');
await import('@tensorflow/tfjs-backend-wasm');
const { registerWasmTrainingKernels } = await import('@hpf/engine');
const dense = await import('@hpf/dense');
const { median } = await import('./support/quick.js');
const { KernelProfiler, cpuMs, profileTables } = await import('./support/kernel-profiler.js');
const { createQuickDetector } = await import('./support/quick-detector.js');

const { values } = parseArgs({
  options: {
    detectors: { type: 'string', default: 'retinanet,fcos' },
    runs: { type: 'string', default: '7' },
    top: { type: 'string', default: '15' },
    thresholds: { type: 'string', default: '0,0.05' },
    batch: { type: 'string', default: '8' },
    size: { type: 'string', default: '128' },
    'timing-only': { type: 'boolean', default: false },
    dump: { type: 'string' },
  },
  strict: true,
});
const intArg = (name: string, min: number): number => {
  const n = Number(values[name as keyof typeof values]);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got '${String(values[name as keyof typeof values])}'`);
  return n;
};
const runs = intArg('runs', 1);
const top = intArg('top', 1);
const batch = intArg('batch', 1);
const size = intArg('size', 32);
const thresholds = values.thresholds.split(',').map((s) => {
  const t = Number(s);
  if (s.trim() === '' || !Number.isFinite(t)) throw new Error(`--thresholds: '${s}' is not a number`);
  return t;
});

registerWasmTrainingKernels();
await tf.setBackend('wasm');

const images = tf.randomUniform([batch, size, size, 3], 0, 1, 'float32', 3) as Tensor4D;
// A letterbox-free identity mapping, so predict also runs the mapping to original pixels.
const metas = Array.from({ length: batch }, () => ({ originalSize: { width: size, height: size }, scale: [1, 1] as [number, number], offset: [0, 0] as [number, number], flipped: false }));

type Part = 'forward' | 'decode' | 'postprocess';
const PARTS = ['forward', 'decode', 'postprocess'] as const;
const profiler = new KernelProfiler<Part>(PARTS, (name, _inputs, part) => `${part}: ${name}`);

// The detectors' forward and decode are reached through their instances: the script measures
// predict as callers run it, and only marks where one part ends and the next begins.
interface Instrumentable {
  model: { forward: (x: Tensor4D) => unknown };
  decode: (...args: unknown[]) => Level[];
  predict: (images: Tensor4D, imageMetas?: typeof metas) => Promise<Array<Array<{ box: number[]; score: number; label: number }>>>;
  dispose(): void;
}

async function createDetector(name: string, scoreThreshold: number): Promise<Instrumentable> {
  return (await createQuickDetector(name, { test: { scoreThreshold } })) as unknown as Instrumentable;
}

async function timingOnly(name: string, threshold: number): Promise<void> {
  const detector = await createDetector(name, threshold);
  for (let w = 0; w < 2; w++) await detector.predict(images, metas);
  const cpu: number[] = [];
  const wall: number[] = [];
  let found = 0;
  let last: unknown = null;
  for (let r = 0; r < runs; r++) {
    const c = cpuMs();
    const w = performance.now();
    const dets = await detector.predict(images, metas);
    cpu.push(cpuMs() - c);
    wall.push(performance.now() - w);
    found = dets.reduce((n, d) => n + d.length, 0);
    last = dets;
  }
  detector.dispose();
  dumped[`${name} ${threshold}`] = last;
  console.log(JSON.stringify({ detector: name, threshold, cpu, wall, medianCpu: median(cpu), medianWall: median(wall), detections: found }));
}

async function profileDetector(name: string, threshold: number): Promise<void> {
  const detector = await createDetector(name, threshold);
  let mark = 0;
  // CPU ms per part, kernels and JS together (the profiler books the kernels' share).
  const partCpu: Record<Part, number> = { forward: 0, decode: 0, postprocess: 0 };
  const lap = (next: Part): void => {
    const now = cpuMs();
    if (profiler.isRecording) partCpu[profiler.part] += now - mark;
    mark = now;
    profiler.part = next;
  };
  const forward = detector.model.forward.bind(detector.model);
  detector.model.forward = (x) => {
    const out = forward(x);
    lap('decode');
    return out;
  };
  const decode = detector.decode.bind(detector);
  detector.decode = (...args) => {
    const levels = decode(...args);
    lap('postprocess');
    return levels;
  };
  const times: number[] = [];
  let found = 0;
  const run = async (): Promise<void> => {
    const start = cpuMs();
    mark = start;
    profiler.part = 'forward';
    const dets = await detector.predict(images, metas);
    lap('forward');
    times.push(cpuMs() - start);
    found = dets.reduce((n, d) => n + d.length, 0);
  };
  await run();
  await run();
  const tensors = tf.memory().numTensors;
  profiler.start();
  times.length = 0;
  for (let i = 0; i < runs; i++) await run();
  const p = profiler.stop();
  if (tf.memory().numTensors !== tensors) throw new Error(`${name}: numTensors ${tensors} -> ${tf.memory().numTensors} over ${runs} predicts`);
  const mean = times.reduce((a, b) => a + b, 0) / runs;
  console.log(
    `\n## ${name}, score threshold ${threshold}: predict ${mean.toFixed(1)} ms CPU (mean of ${runs}; median ${median(times).toFixed(1)}), batch ${batch} x ${size} px, ${found} detections in the last batch\n`,
  );
  console.log(profileTables(p, partCpu, { runs, meanMs: mean, top, unit: 'predict', partHeading: 'part', kernelHeading: 'part: kernel', digits: 2 }).join('\n'));

  // Post-processing pieces, timed alone on the last predict's decoded levels (kept alive here).
  let kept: Level[] = [];
  tf.tidy(() => {
    const out = forward(images);
    kept = decode(out, (detector as unknown as { priorsFor(o: unknown): unknown }).priorsFor(out), [size, size]);
    return kept.flatMap(levelTensors);
  });
  await postprocessPieces(kept, threshold);
  tf.dispose(kept.flatMap(levelTensors));
  detector.dispose();
}

type Level = { scores: Tensor3D; boxes: Tensor3D } | { scores: Tensor3D; regression: Tensor3D; decodeBox: (r: Float32Array, b: number, p: number, out: Float32Array, o: number) => void };
const levelTensors = (l: Level): Tensor3D[] => ('boxes' in l ? [l.scores, l.boxes] : [l.scores, l.regression]);

async function postprocessPieces(levels: Level[], threshold: number): Promise<void> {
  const time = async (fn: () => unknown): Promise<number> => {
    await fn();
    const xs: number[] = [];
    for (let i = 0; i < runs; i++) {
      const c = cpuMs();
      await fn();
      xs.push(cpuMs() - c);
    }
    return median(xs);
  };
  const read = await time(() => Promise.all(levels.flatMap(levelTensors).map((t) => t.data())));
  const flat = await Promise.all(
    levels.map(async (l) => {
      const [scores, second] = (await Promise.all(levelTensors(l).map((t) => t.data()))) as [Float32Array, Float32Array];
      const n = l.scores.shape[1];
      const boxOf = 'boxes' in l ? (b: number, p: number, out: Float32Array, o: number) => out.set(second.subarray(4 * (b * n + p), 4 * (b * n + p) + 4), o) : (b: number, p: number, out: Float32Array, o: number) => l.decodeBox(second, b, p, out, o);
      return { scores, boxOf, n, c: l.scores.shape[2] };
    }),
  );
  const picks = (b: number) => flat.map((l) => dense.topPairs(l.scores.subarray(b * l.n * l.c, (b + 1) * l.n * l.c), threshold, 1000));
  const topk = await time(() => {
    for (let b = 0; b < batch; b++) picks(b);
  });
  const picked = Array.from({ length: batch }, (_, b) => picks(b));
  const boxOut = new Float32Array(4);
  const boxes = await time(() => {
    for (let b = 0; b < batch; b++) flat.forEach((l, i) => picked[b]![i]!.forEach((f) => l.boxOf(b, Math.floor(f / l.c), boxOut, 0)));
  });
  // NMS input: each image's pooled per-level candidates, as post-processing builds them.
  const candidates = Array.from({ length: batch }, (_, b) => {
    const count = picked[b]!.reduce((s, p) => s + p.length, 0);
    const out = { boxes: new Float32Array(4 * count), scores: new Float32Array(count), labels: new Int32Array(count) };
    let at = 0;
    flat.forEach((l, i) => {
      for (const f of picked[b]![i]!) {
        out.scores[at] = l.scores[b * l.n * l.c + f]!;
        out.labels[at] = f % l.c;
        l.boxOf(b, Math.floor(f / l.c), out.boxes, 4 * at++);
      }
    });
    return out;
  });
  const nms = await time(() => {
    for (const c of candidates) dense.batchedNmsArray(c.boxes, c.scores, c.labels, 0.5, 100);
  });
  const whole = await time(() => dense.finishDetections(levels, undefined, { scoreThreshold: threshold }));
  const n = candidates.reduce((s, c) => s + c.scores.length, 0) / batch;
  console.log(`\npost-processing pieces (median CPU ms per batch of ${batch}; ${n.toFixed(0)} candidates per image reach NMS):`);
  console.log(`read-back ${read.toFixed(2)}, topPairs ${topk.toFixed(2)}, boxes of the picked priors ${boxes.toFixed(2)}, batchedNmsArray ${nms.toFixed(2)}, finishDetections as a whole ${whole.toFixed(2)}`);
}

const dumped: Record<string, unknown> = {};
if (values['timing-only']) {
  for (const name of values.detectors.split(',')) for (const t of thresholds) await timingOnly(name.trim(), t);
  if (values.dump !== undefined) writeFileSync(values.dump, JSON.stringify(dumped));
} else {
  profiler.wrap(tf);
  for (const name of values.detectors.split(',')) for (const t of thresholds) await profileDetector(name.trim(), t);
  profiler.unwrap();
}
images.dispose();
