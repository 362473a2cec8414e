// Where FreeAnchor's bags land: the share of bag members (top-k anchors by IoU per object) on each
// pyramid level, over digits-det quick images, for the published anchors and the small-input
// setting. Prediction-independent (bags depend on anchors and boxes only).
// Run from the repository root: node --import tsx packages/freeanchor/bench/bag-levels.bench.ts [numImages]
import { createAnchorGenerator, featureSizesFor, concatLevels } from '@hpf/dense';
import { generateSplit, PRESETS } from '@hpf/digits-det';
import { anchorBags } from '../src/bags.js';

const numImages = Number(process.argv[2] ?? 50);
const preset = PRESETS.quick;
const strides = [8, 16, 32, 64, 128];
const images = [...generateSplit(preset, 'train', 0, numImages)];
const settings = [
  { name: 'published (octaveBaseScale 4, topk 50)', octaveBaseScale: 4, topk: 50 },
  { name: 'small inputs (octaveBaseScale 1, topk 10)', octaveBaseScale: 1, topk: 10 },
  { name: 'octaveBaseScale 1, topk 50', octaveBaseScale: 1, topk: 50 },
  { name: 'octaveBaseScale 2, topk 10', octaveBaseScale: 2, topk: 10 },
];
for (const s of settings) {
  const generator = createAnchorGenerator({ strides, ratios: [0.5, 1, 2], octaveBaseScale: s.octaveBaseScale, scalesPerOctave: 3 });
  const levels = generator.gridPriors(featureSizesFor([preset.imageSize, preset.imageSize], strides));
  const starts = levels.map((_, l) => levels.slice(0, l).reduce((n, a) => n + a.length / 4, 0));
  const anchors = concatLevels(levels);
  const counts = new Array<number>(levels.length).fill(0);
  const best = new Array<number>(levels.length).fill(0);
  let objects = 0;
  for (const img of images) {
    const boxes = Float32Array.from(img.objects.filter((o) => o.annotated && o.bbox !== null).flatMap((o) => [o.bbox![0], o.bbox![1], o.bbox![0] + o.bbox![2], o.bbox![1] + o.bbox![3]]));
    const bags = anchorBags(anchors, boxes, s.topk);
    const levelOf = (j: number) => starts.filter((st) => st <= j).length - 1;
    bags.forEach((j) => counts[levelOf(j)]!++);
    for (let o = 0; o < boxes.length / 4; o++) best[levelOf(bags[o * s.topk]!)]!++;
    objects += boxes.length / 4;
  }
  const total = counts.reduce((a, b) => a + b, 0);
  console.log(`${s.name}: ${objects} objects; bag members per level P3-P7 ${counts.map((c) => ((100 * c) / total).toFixed(1) + '%').join(' / ')}; best-IoU anchor per level ${best.join(' / ')}`);
}
