/**
 * Where digits-det's objects and ATSS positives land on the pyramid (P3..P7).
 *
 *   node --import tsx packages/digits-det/scripts/level-stats.ts [--preset quick|full] [--seed 0] [--images 512]
 *        [--anchor-scale A ...] [--center-offset c ...]
 *
 * Prints a Markdown table for the README. Two measures:
 * - objects per level under the documented proxy rule `levelOf` (src/levels.ts);
 * - positives per level from ATSS assignment with one square anchor of side A * stride per
 *   location. @hpf/dense's `createAnchorGenerator` + `atssAssign` are used when that package exists
 *   (digits-det itself must not depend on it, so it is imported dynamically here only); a
 *   script-local transcription of mmdetection's ATSSAssigner rule runs as well and must agree.
 */
import { parseArgs } from 'node:util';
import { generateSplit, objectsPerLevel, presetByName, STRIDES } from '../src/index.js';

const { values } = parseArgs({
  options: {
    preset: { type: 'string', default: 'quick' },
    seed: { type: 'string', default: '0' },
    images: { type: 'string', default: '512' },
    'anchor-scale': { type: 'string', multiple: true },
    'center-offset': { type: 'string', multiple: true },
  },
  strict: true,
});
const preset = presetByName(values.preset!);
const seed = Number(values.seed);
const count = Number(values.images);
const anchorScales = (values['anchor-scale'] ?? [String(preset.anchorScale), '8']).map(Number);
const centerOffsets = (values['center-offset'] ?? ['0', '0.5']).map(Number);

/** Ground-truth boxes `[x1, y1, x2, y2]` of every train image. */
const images: number[][][] = [];
for (const g of generateSplit(preset, 'train', seed, count)) {
  images.push(g.objects.filter((o) => o.annotated).map((o) => [o.bbox![0], o.bbox![1], o.bbox![0] + o.bbox![2], o.bbox![1] + o.bbox![3]]));
}

/** One square anchor of side `scale * stride` per location, centred at ((x + c) * stride, (y + c) * stride) (mmdetection: c = 0). */
function anchorsOf(size: number, scale: number, c: number): { boxes: number[][]; level: number[] } {
  const boxes: number[][] = [];
  const level: number[] = [];
  STRIDES.forEach((stride, l) => {
    const n = Math.ceil(size / stride);
    const half = (scale * stride) / 2;
    for (let y = 0; y < n; y++) {
      for (let x = 0; x < n; x++) {
        const cx = (x + c) * stride;
        const cy = (y + c) * stride;
        boxes.push([cx - half, cy - half, cx + half, cy + half]);
        level.push(l);
      }
    }
  });
  return { boxes, level };
}

/** IoU rounded to float32, as torch (and @hpf/dense) store it: threshold ties then resolve alike. */
function iou(a: number[], b: number[]): number {
  const iw = Math.max(0, Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!));
  const ih = Math.max(0, Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!));
  const inter = iw * ih;
  return Math.fround(inter / ((a[2]! - a[0]!) * (a[3]! - a[1]!) + (b[2]! - b[0]!) * (b[3]! - b[1]!) - inter));
}

/**
 * ATSS (Zhang et al. 2020) as in mmdetection's ATSSAssigner: per level the k = 9 anchors whose
 * centres are nearest the box centre are candidates; threshold = mean + std (unbiased) of the
 * candidates' IoUs; a candidate is positive if its IoU >= threshold and its centre lies inside the
 * box (margin 0.01); an anchor positive for several boxes goes to the one of highest IoU.
 * Returns the assigned box index per anchor (-1 negative).
 */
function atss(anchors: number[][], level: number[], gts: number[][], topk = 9): Int32Array {
  const assigned = new Int32Array(anchors.length).fill(-1);
  const best = new Float64Array(anchors.length).fill(-Infinity);
  gts.forEach((g, gi) => {
    const gx = (g[0]! + g[2]!) / 2;
    const gy = (g[1]! + g[3]!) / 2;
    const candidates: number[] = [];
    for (let l = 0; l < STRIDES.length; l++) {
      const onLevel = anchors.map((_, i) => i).filter((i) => level[i] === l);
      // Squared distance: exact for these coordinates, so equal distances tie exactly (Math.hypot may differ by an ulp).
      const dist = (i: number) => ((anchors[i]![0]! + anchors[i]![2]!) / 2 - gx) ** 2 + ((anchors[i]![1]! + anchors[i]![3]!) / 2 - gy) ** 2;
      onLevel.sort((a, b) => dist(a) - dist(b) || a - b);
      candidates.push(...onLevel.slice(0, Math.min(topk, onLevel.length)));
    }
    const ious = candidates.map((i) => iou(anchors[i]!, g));
    const mean = ious.reduce((s, v) => s + v, 0) / ious.length;
    const std = Math.sqrt(ious.reduce((s, v) => s + (v - mean) ** 2, 0) / Math.max(1, ious.length - 1));
    candidates.forEach((i, c) => {
      const a = anchors[i]!;
      const cx = (a[0]! + a[2]!) / 2;
      const cy = (a[1]! + a[3]!) / 2;
      const inside = Math.min(cx - g[0]!, cy - g[1]!, g[2]! - cx, g[3]! - cy) > 0.01;
      if (ious[c]! >= mean + std && inside && ious[c]! > best[i]!) {
        best[i] = ious[c]!;
        assigned[i] = gi;
      }
    });
  });
  return assigned;
}

interface DenseAssign {
  createAnchorGenerator(o: { strides: number[]; ratios: number[]; octaveBaseScale: number; scalesPerOctave: number; centerOffset: number }): {
    gridPriors(sizes: (readonly [number, number])[]): Float32Array[];
  };
  atssAssign(
    input: { priors: Float32Array; gtBoxes: Float32Array; gtLabels: ArrayLike<number> },
    options: { numClasses: number; numPerLevel: number[] },
  ): { gtIndex: Int32Array };
}

/** @hpf/dense when present; the specifier is a variable so that type checking does not need the package. */
async function loadDense(): Promise<DenseAssign | undefined> {
  const name = '@hpf/dense';
  try {
    const dense = (await import(name)) as Partial<DenseAssign>;
    return typeof dense.atssAssign === 'function' && typeof dense.createAnchorGenerator === 'function' ? (dense as DenseAssign) : undefined;
  } catch {
    return undefined;
  }
}

/** Positives per level and objects with no positive, over all images. */
function countPositives(assign: (gts: number[][]) => { gtIndex: ArrayLike<number>; level: number[] }): { positives: number[]; withNone: number } {
  const positives = new Array<number>(STRIDES.length).fill(0);
  let withNone = 0;
  for (const gts of images) {
    const { gtIndex, level } = assign(gts);
    const perGt = new Array<number>(gts.length).fill(0);
    for (let i = 0; i < gtIndex.length; i++) {
      const g = gtIndex[i]!;
      if (g >= 0) {
        positives[level[i]!]!++;
        perGt[g]!++;
      }
    }
    withNone += perGt.filter((n) => n === 0).length;
  }
  return { positives, withNone };
}

const pct = (v: number, total: number) => `${v} (${((100 * v) / Math.max(1, total)).toFixed(1)}%)`;
const dense = await loadDense();
const allBoxes = images.flat();
console.log(
  `digits-det ${preset.name} (${preset.imageSize} px), train split, seed ${seed}, ${images.length} images, ${allBoxes.length} annotated digits; ` +
    `ATSS: ${dense ? '@hpf/dense atssAssign + createAnchorGenerator (checked against the script-local transcription)' : 'script-local transcription of mmdetection ATSSAssigner (@hpf/dense not available)'}\n`,
);
console.log('| anchor side | centre offset | measure | P3 | P4 | P5 | P6 | P7 | per object |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const scale of anchorScales) {
  const objects = objectsPerLevel(allBoxes.map((b) => [b[0]!, b[1]!, b[2]! - b[0]!, b[3]! - b[1]!]), scale);
  console.log(`| ${scale} x stride | - | objects (levelOf) | ${objects.map((v) => pct(v, allBoxes.length)).join(' | ')} | 1 |`);
  for (const c of centerOffsets) {
    const local = anchorsOf(preset.imageSize, scale, c);
    const mine = countPositives((gts) => ({ gtIndex: atss(local.boxes, local.level, gts), level: local.level }));
    let result = mine;
    if (dense) {
      const generator = dense.createAnchorGenerator({ strides: [...STRIDES], ratios: [1], octaveBaseScale: scale, scalesPerOctave: 1, centerOffset: c });
      const perLevel = generator.gridPriors(STRIDES.map((s) => [Math.ceil(preset.imageSize / s), Math.ceil(preset.imageSize / s)] as const));
      const priors = new Float32Array(perLevel.reduce((n, a) => n + a.length, 0));
      const level: number[] = [];
      let at = 0;
      perLevel.forEach((a, l) => {
        priors.set(a, at);
        at += a.length;
        for (let i = 0; i < a.length / 4; i++) level.push(l);
      });
      const numPerLevel = perLevel.map((a) => a.length / 4);
      result = countPositives((gts) => ({
        gtIndex: dense.atssAssign({ priors, gtBoxes: Float32Array.from(gts.flat()), gtLabels: gts.map(() => 0) }, { numClasses: 1, numPerLevel }).gtIndex,
        level,
      }));
      if (JSON.stringify(result) !== JSON.stringify(mine)) {
        throw new Error(`@hpf/dense atssAssign ${JSON.stringify(result)} differs from the local transcription ${JSON.stringify(mine)} (scale ${scale}, offset ${c})`);
      }
    }
    const total = result.positives.reduce((a, b) => a + b, 0);
    console.log(
      `| ${scale} x stride | ${c} | ATSS positives | ${result.positives.map((v) => pct(v, total)).join(' | ')} | ${(total / allBoxes.length).toFixed(2)}; ${result.withNone} objects get none |`,
    );
  }
}
