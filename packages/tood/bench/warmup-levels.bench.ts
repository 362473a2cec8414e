// Where TOOD's ATSS warm-up puts its positives, per pyramid level, over digits-det quick images,
// for the published anchor size and smaller ones (TAL later picks positives near these, among the
// anchors whose centre lies inside the object). Prediction-independent.
// Run from the repository root: node --import tsx packages/tood/bench/warmup-levels.bench.ts [numImages]
import { atssBoxTargets, concatLevels, createAnchorGenerator, featureSizesFor } from '@hpf/dense';
import { generateSplit, PRESETS } from '@hpf/digits-det';

const numImages = Number(process.argv[2] ?? 50);
const preset = PRESETS.quick;
const strides = [8, 16, 32, 64, 128];
const images = [...generateSplit(preset, 'train', 0, numImages)];
for (const octaveBaseScale of [8, 4, 2, 1]) {
  const generator = createAnchorGenerator({ strides, ratios: [1], octaveBaseScale, scalesPerOctave: 1 });
  const levels = generator.gridPriors(featureSizesFor([preset.imageSize, preset.imageSize], strides));
  const numPerLevel = levels.map((a) => a.length / 4);
  const ends = numPerLevel.map((_, l) => numPerLevel.slice(0, l + 1).reduce((a, b) => a + b, 0));
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
    const t = atssBoxTargets(anchors, numPerLevel, target, { numClasses: 10, topk: 9 });
    t.labels.forEach((label, j) => {
      if (label >= 0 && label < 10) counts[ends.findIndex((e) => j < e)]!++;
    });
    objects += objs.length;
  }
  const total = counts.reduce((a, b) => a + b, 0);
  console.log(`octaveBaseScale ${octaveBaseScale}: ${objects} objects, ${total} positives; P3-P7 ${counts.join(' / ')}`);
}
