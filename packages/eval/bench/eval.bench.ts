/**
 * Speed of evaluateCoco on a synthetic COCO-sized load.
 *   node --import tsx packages/eval/bench/eval.bench.ts [--images 5000] [--dets 100] [--classes 10] [--runs 3] [--no-baseline]
 * `--dets` is per image and per class (the default is 5,000 x 100 x 10 = 5M detections). Prints
 * the median wall time of the runs, and, as a baseline in the same process, the ratio against the
 * plain reference implementation of the tests on a small subset.
 */
import { performance } from 'node:perf_hooks';
import type { CocoAnnotation, CocoDataset, CocoDetection } from '../src/index.js';
import { evaluateCoco, formatSummary } from '../src/index.js';
import { referenceEvaluate } from '../test/reference.js';

function arg(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  if (at < 0) return fallback;
  const value = Number(process.argv[at + 1]);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name} must be a positive integer`);
  return value;
}

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** 1-6 objects per class per image, detections half near an object and half anywhere. */
function synthesize(images: number, detsPerClass: number, classes: number, seed: number): { data: CocoDataset; dets: CocoDetection[] } {
  const r = rng(seed);
  const annotations: CocoAnnotation[] = [];
  const dets: CocoDetection[] = [];
  const randomBox = (): [number, number, number, number] => {
    const w = 4 + 200 * r() * r();
    const h = 4 + 200 * r() * r();
    return [r() * 600, r() * 400, w, h];
  };
  let id = 1;
  for (let i = 1; i <= images; i++) {
    for (let c = 1; c <= classes; c++) {
      const objects: [number, number, number, number][] = [];
      const count = 1 + Math.floor(r() * 6);
      for (let g = 0; g < count; g++) {
        const bbox = randomBox();
        objects.push(bbox);
        annotations.push({ id: id++, image_id: i, category_id: c, bbox, area: bbox[2] * bbox[3], iscrowd: r() < 0.02 ? 1 : 0 });
      }
      for (let d = 0; d < detsPerClass; d++) {
        let bbox = randomBox();
        if (r() < 0.5) {
          const [x, y, w, h] = objects[Math.floor(r() * objects.length)]!;
          bbox = [x + (r() - 0.5) * 0.3 * w, y + (r() - 0.5) * 0.3 * h, w * (0.8 + 0.4 * r()), h * (0.8 + 0.4 * r())];
        }
        dets.push({ image_id: i, category_id: c, bbox, score: Math.round(r() * 1000) / 1000 });
      }
    }
  }
  return {
    data: {
      images: Array.from({ length: images }, (_, n) => ({ id: n + 1 })),
      categories: Array.from({ length: classes }, (_, n) => ({ id: n + 1, name: `class${n + 1}` })),
      annotations,
    },
    dets,
  };
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const images = arg('images', 5000);
const detsPerClass = arg('dets', 100);
const classes = arg('classes', 10);
const runs = arg('runs', 3);
const skipBaseline = process.argv.includes('--no-baseline');

// Baseline in the same process: the tests' plain reference implementation on a subset.
if (!skipBaseline) {
  const small = synthesize(100, 20, 10, 7);
  const ours: number[] = [];
  const ref: number[] = [];
  for (let n = 0; n < 3; n++) {
    let t0 = performance.now();
    evaluateCoco(small.data, small.dets);
    ours.push(performance.now() - t0);
    t0 = performance.now();
    referenceEvaluate(small.data, small.dets);
    ref.push(performance.now() - t0);
  }
  console.log(`baseline subset (100 images x 20 dets x 10 classes = ${small.dets.length} detections):`);
  console.log(`  evaluateCoco ${median(ours).toFixed(1)} ms, reference ${median(ref).toFixed(1)} ms, speed-up x${(median(ref) / median(ours)).toFixed(1)}`);
}

const t0 = performance.now();
const { data, dets } = synthesize(images, detsPerClass, classes, 1);
console.log(`\n${images} images x ${detsPerClass} dets x ${classes} classes: ${dets.length} detections, ` +
  `${data.annotations.length} ground-truth boxes (synthesized in ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
const times: number[] = [];
const cpuTimes: number[] = [];
let summary = '';
for (let n = 0; n < runs; n++) {
  const start = performance.now();
  const cpu = process.cpuUsage();
  const result = evaluateCoco(data, dets);
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  // CPU time too: on a shared machine wall time also counts other processes' turns.
  const cpuSeconds = (used.user + used.system) / 1e6;
  times.push(seconds);
  cpuTimes.push(cpuSeconds);
  summary = formatSummary(result.stats);
  console.log(`  run ${n + 1}: ${seconds.toFixed(2)} s wall, ${cpuSeconds.toFixed(2)} s CPU`);
}
console.log(summary);
console.log(`median of ${runs} runs: ${median(times).toFixed(2)} s wall, ${median(cpuTimes).toFixed(2)} s CPU (target <= 20 s)`);
