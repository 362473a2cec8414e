// Where PAA's candidates land: anchors with IoU >= 0.1 with an object (plus each object's best
// anchors), per pyramid level, over digits-det quick images, for the published anchor size and
// smaller ones. Prediction-independent: the mixture then picks positives among these candidates.
// Run from the repository root: node --import tsx packages/paa/bench/candidate-levels.bench.ts [numImages]
import { concatLevels, createAnchorGenerator, featureSizesFor } from '@hpf/dense';
import { generateSplit, PRESETS } from '@hpf/digits-det';
import { paaCandidates } from '../src/assigner.js';

const numImages = Number(process.argv[2] ?? 50);
const preset = PRESETS.quick;
const strides = [8, 16, 32, 64, 128];
const images = [...generateSplit(preset, 'train', 0, numImages)];
for (const octaveBaseScale of [8, 4, 2, 1]) {
  const generator = createAnchorGenerator({ strides, ratios: [1], octaveBaseScale, scalesPerOctave: 1 });
  const levels = generator.gridPriors(featureSizesFor([preset.imageSize, preset.imageSize], strides));
  const ends = levels.map((_, l) => levels.slice(0, l + 1).reduce((n, a) => n + a.length / 4, 0));
  const anchors = concatLevels(levels);
  const counts = new Array<number>(levels.length).fill(0);
  let objects = 0;
  for (const img of images) {
    const objs = img.objects.filter((o) => o.annotated && o.bbox !== null);
    const target = {
      boxes: Float32Array.from(objs.flatMap((o) => [o.bbox![0], o.bbox![1], o.bbox![0] + o.bbox![2], o.bbox![1] + o.bbox![3]])),
      labels: Int32Array.from(objs.map((o) => o.digit)),
      ignoreBoxes: new Float32Array(0),
    };
    const c = paaCandidates(anchors, target, { numClasses: 10, candidateIouThr: 0.1, ignoreIofThr: 0.5 });
    c.candidates.forEach((j) => counts[ends.findIndex((e) => j < e)]!++);
    objects += objs.length;
  }
  const total = counts.reduce((a, b) => a + b, 0);
  console.log(`octaveBaseScale ${octaveBaseScale}: ${objects} objects, ${(total / objects).toFixed(1)} candidates per object; P3-P7 ${counts.map((c) => ((100 * c) / total).toFixed(1) + '%').join(' / ')}`);
}
