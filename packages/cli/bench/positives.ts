/**
 * Positives per digit and per pyramid level of every detector's assigner on digits-det quick's
 * training images, under the published prior sizes, the registry's small-input override and
 * candidate settings (`npm run bench:positives -- [--images 512] [--json out.json]`).
 *
 * A digit with no positive is trained as background: a silent bug. Hierarchical sampling needs
 * positives on several levels, so a setting is `ok` when no digit goes without positives and at
 * least three levels each hold >= 2% of the positives.
 *
 * What is counted, per assigner (the detector's own config, so its resolved options are used):
 * - RetinaNet: max-IoU (0.5 / 0.4, low-quality matches); ATSS, GFL, VFNet: ATSS selection;
 * - FCOS: regress ranges + centre sampling; FoveaBox: fovea cells of the digit on the levels whose
 *   scale range holds it, counted per digit alone (the full-image assignment gives the level shares);
 * - FreeAnchor: the digit's bag (top-k anchors by IoU: what its positive bag loss sees);
 * - PAA: its candidates as the GMM sees them (IoU >= 0.1, at most topk per level);
 * - TOOD: the ATSS warm-up's positives (the task-aligned stage picks by prediction quality).
 */
import { parseArgs } from 'node:util';
import { writeFileSync } from 'node:fs';
import { initBackend } from '@hpf/engine/node';
import { createBatchLoader, readCocoDataset } from '@hpf/data';
import { atssAssign, createAnchorGenerator, featureSizesFor, type Detector, type DetectorTarget, type PriorGenerator } from '@hpf/dense';
import { retinaTargets, type RetinaAssignerOptions } from '@hpf/retinanet';
import { fcosTargets, type FcosAssignerOptions } from '@hpf/fcos';
import { foveaTargets, type FoveaAssignerOptions } from '@hpf/foveabox';
import { anchorBags } from '@hpf/freeanchor';
import { paaCandidates } from '@hpf/paa';
import { BENCH_PRESETS } from '../src/bench.js';
import { resolveData } from '../src/data-source.js';
import { DETECTORS } from '../src/registry.js';
import { buildDetector, detectorOptionsFor } from '../src/train.js';
import { quickTrainOptions } from './support/quick.js';

/** Per prior: the digit it is a positive of (-1: none); several digits per prior for bags. */
type Assign = (detector: Detector, priors: Float32Array, numPerLevel: number[], target: DetectorTarget) => Array<{ prior: number; gt: number }>;

const fromGtIndex = (gtIndex: Int32Array): Array<{ prior: number; gt: number }> => {
  const out: Array<{ prior: number; gt: number }> = [];
  gtIndex.forEach((g, prior) => {
    if (g >= 0) out.push({ prior, gt: g });
  });
  return out;
};

type Config = Record<string, unknown> & { numClasses: number };
const cfg = (d: Detector): Config => d.config as Config;

const atssRule: Assign = (d, priors, numPerLevel, t) => {
  const c = cfg(d);
  const topk = (c.atssTopk ?? c.topk ?? 9) as number;
  return fromGtIndex(atssAssign({ priors, gtBoxes: t.boxes, gtLabels: t.labels }, { numClasses: c.numClasses, numPerLevel, topk }).gtIndex);
};

const RULES: Record<string, Assign> = {
  retinanet: (d, priors, _n, t) => fromGtIndex(retinaTargets(priors, t, cfg(d) as unknown as RetinaAssignerOptions).gtIndex),
  atss: atssRule,
  gfl: atssRule,
  vfnet: atssRule,
  tood: atssRule,
  fcos: (d, priors, numPerLevel, t) => fromGtIndex(fcosTargets(priors, numPerLevel, t, cfg(d) as unknown as FcosAssignerOptions).gtIndex),
  foveabox: (d, priors, numPerLevel, t) => {
    const c = cfg(d) as unknown as FoveaAssignerOptions;
    const sizes = featureSizesFor([128, 128], c.strides);
    const out: Array<{ prior: number; gt: number }> = [];
    for (let g = 0; g < t.labels.length; g++) {
      const alone: DetectorTarget = { boxes: t.boxes.slice(4 * g, 4 * g + 4), labels: t.labels.slice(g, g + 1), ignoreBoxes: new Float32Array(0) };
      foveaTargets(priors, sizes, alone, c).labels.forEach((label, prior) => {
        if (label >= 0 && label < c.numClasses) out.push({ prior, gt: g });
      });
    }
    void numPerLevel;
    return out;
  },
  freeanchor: (d, priors, _n, t) => {
    const k = cfg(d).preAnchorTopk as number;
    const bags = anchorBags(priors, t.boxes, k);
    return Array.from(bags, (prior, i) => ({ prior, gt: Math.floor(i / k) }));
  },
  paa: (d, priors, numPerLevel, t) => {
    const c = cfg(d);
    const cand = paaCandidates(priors, t, { numClasses: c.numClasses, candidateIouThr: 0.1, ignoreIofThr: 0.5 });
    const ends = numPerLevel.map((_, l) => numPerLevel.slice(0, l + 1).reduce((s, n) => s + n, 0));
    const kept = new Map<string, number>();
    const out: Array<{ prior: number; gt: number }> = [];
    for (const prior of cand.candidates) {
      const gt = cand.gtIndex[prior]!;
      const key = `${gt}/${ends.findIndex((e) => prior < e)}`;
      const n = kept.get(key) ?? 0;
      if (n < (c.topk as number)) out.push({ prior, gt });
      kept.set(key, n + 1);
    }
    return out;
  },
};

/** Settings tried besides the published one and the registry's override (same keys as the override). */
export const CANDIDATES: Record<string, Array<Record<string, unknown>>> = {
  retinanet: [{ octaveBaseScale: 2 }],
  atss: [{ octaveBaseScale: 4 }, { octaveBaseScale: 2 }],
  fcos: [{ regressRanges: [[-1, 32], [32, 64], [64, 128], [128, 256], [256, 1e8]] }],
  gfl: [{ octaveBaseScale: 4 }, { octaveBaseScale: 3 }],
  foveabox: [
    { sigma: 0.8 },
    { baseEdges: [8, 16, 32, 64, 128], scaleRanges: [[0.5, 32], [16, 64], [32, 128], [64, 256], [128, 1024]], sigma: 0.8 },
    { baseEdges: [8, 16, 32, 64, 128], scaleRanges: [[0.5, 32], [16, 64], [32, 128], [64, 256], [128, 1024]], sigma: 1 },
  ],
  freeanchor: [{ octaveBaseScale: 2 }, { octaveBaseScale: 1 }],
  paa: [{ octaveBaseScale: 4 }],
  vfnet: [{ octaveBaseScale: 4 }, { octaveBaseScale: 4, regDenoms: [16, 32, 64, 128, 256] }],
  tood: [{ octaveBaseScale: 4 }],
};

export interface PositivesRow {
  detector: string;
  setting: string;
  options: Record<string, unknown>;
  digits: number;
  /** Share of digits with 0, 1, 2-4 and >= 5 positives. */
  zero: number;
  one: number;
  twoToFour: number;
  fivePlus: number;
  meanPerDigit: number;
  /** Share of all positives on P3..P7. */
  levelShare: number[];
  /** Levels holding >= 2% of the positives. */
  levels: number;
  ok: boolean;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { images: { type: 'string', default: '512' }, json: { type: 'string' }, detectors: { type: 'string', default: 'all' }, 'data-cache': { type: 'string', default: 'runs/data' } },
    strict: true,
  });
  const count = Number(values.images);
  if (!(Number.isInteger(count) && count > 0)) throw new Error(`--images must be a positive integer, got ${values.images}`);
  await initBackend({ prefer: 'cpu' });
  const source = resolveData(BENCH_PRESETS.quick.data, { cacheDir: values['data-cache'], log: (l) => console.error(l) });
  const train = readCocoDataset(source.trainDir);
  const inputSize = train.images[0]!.width;
  const loader = createBatchLoader(train, { batchSize: 8, inputSize, shuffle: false, flipProbability: 0 });
  const targets: DetectorTarget[] = [];
  for (const batch of loader.epoch(0)) {
    batch.images.dispose();
    targets.push(...batch.targets);
    if (targets.length >= count) break;
  }
  targets.length = Math.min(targets.length, count);
  const names = values.detectors === 'all' ? Object.keys(DETECTORS) : values.detectors.split(',');
  const rows: PositivesRow[] = [];
  for (const name of names) {
    const settings: Array<[string, Record<string, unknown>, boolean]> = [
      ['published', {}, false],
      ['override', DETECTORS[name]!.smallInput, true],
      ...(CANDIDATES[name] ?? []).map((o): [string, Record<string, unknown>, boolean] => [JSON.stringify(o), o, false]),
    ];
    for (const [setting, extra, small] of settings) {
      const options = { ...quickTrainOptions(name, false), smallInput: small, detectorOptions: small ? {} : extra };
      const detector = await buildDetector(name, detectorOptionsFor(options, train.categories.length, inputSize, 6));
      // TOOD keeps its anchors in its own prior cache: the same single square anchor per location as ATSS.
      const c = cfg(detector) as Config & { strides: number[]; octaveBaseScale: number };
      const generator: PriorGenerator =
        (detector as unknown as { priorGenerator?: PriorGenerator }).priorGenerator ??
        createAnchorGenerator({ strides: c.strides, ratios: [1], octaveBaseScale: c.octaveBaseScale, scalesPerOctave: 1 });
      const levels = generator.gridPriors(featureSizesFor([inputSize, inputSize], generator.strides));
      const perPrior = generator.priorDim;
      const numPerLevel = levels.map((a) => a.length / perPrior);
      const flat = new Float32Array(levels.reduce((s, a) => s + a.length, 0));
      levels.reduce((o, a) => (flat.set(a, o), o + a.length), 0);
      const ends = numPerLevel.map((_, l) => numPerLevel.slice(0, l + 1).reduce((s, n) => s + n, 0));
      const perLevel = new Array<number>(numPerLevel.length).fill(0);
      const hist = [0, 0, 0, 0];
      let digits = 0;
      let total = 0;
      for (const t of targets) {
        const pairs = RULES[name]!(detector, flat, numPerLevel, t);
        const perGt = new Array<number>(t.labels.length).fill(0);
        for (const { prior, gt } of pairs) {
          perGt[gt]!++;
          perLevel[ends.findIndex((e) => prior < e)]!++;
        }
        for (const n of perGt) hist[n === 0 ? 0 : n === 1 ? 1 : n <= 4 ? 2 : 3]!++;
        digits += perGt.length;
        total += pairs.length;
      }
      detector.dispose();
      const levelShare = perLevel.map((n) => n / Math.max(1, total));
      const populated = levelShare.filter((s) => s >= 0.02).length;
      const row: PositivesRow = {
        detector: name,
        setting,
        options: small ? DETECTORS[name]!.smallInput : extra,
        digits,
        zero: hist[0]! / digits,
        one: hist[1]! / digits,
        twoToFour: hist[2]! / digits,
        fivePlus: hist[3]! / digits,
        meanPerDigit: total / digits,
        levelShare,
        levels: populated,
        ok: hist[0] === 0 && populated >= 3,
      };
      rows.push(row);
      const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
      console.log(
        `${name.padEnd(10)} ${setting.padEnd(60)} 0: ${pct(row.zero).padStart(6)} 1: ${pct(row.one).padStart(6)} 2-4: ${pct(row.twoToFour).padStart(6)} 5+: ${pct(row.fivePlus).padStart(6)} mean ${row.meanPerDigit.toFixed(1).padStart(5)}  P3-P7 ${levelShare.map((s) => pct(s).padStart(6)).join(' ')}  levels ${populated} ${row.ok ? 'ok' : 'NOT OK'}`,
      );
    }
  }
  if (values.json !== undefined) writeFileSync(values.json, JSON.stringify({ images: targets.length, rows }, null, 1));
}

await main();
