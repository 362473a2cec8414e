/**
 * How much of the FCOS parity gap the score threshold explains, from the twin's detections alone:
 * torchvision's FCOS keeps a (point, class) pair when sqrt(p_cls * p_centerness) > t and reports
 * that square root; ours keeps it when p_cls * p_centerness > t. Both rank pairs the same (sqrt is
 * monotonic), so the twin's detections under our rule are exactly those with score^2 > t (top-k
 * and NMS keep a score-ordered prefix, so filtering after them equals filtering before).
 *
 *   npx tsx packages/cli/bench/fcos-threshold.ts <twin detections.json> <val folder> [t=0.05]
 */
import { readFileSync } from 'node:fs';
import { readCocoDataset } from '@hpf/data';
import { evaluateCoco, type CocoDetection } from '@hpf/eval';
import { groundTruth } from '../src/evaluate.js';

const [file, valDir, t = '0.05'] = process.argv.slice(2);
if (file === undefined || valDir === undefined) throw new Error('usage: fcos-threshold.ts <twin detections.json> <val folder> [threshold]');
const threshold = Number(t);
if (!(threshold > 0 && threshold < 1)) throw new Error(`threshold must be in (0, 1), got ${t}`);
const detections = JSON.parse(readFileSync(file, 'utf8')) as CocoDetection[];
const gt = groundTruth(readCocoDataset(valDir));
const rules: Array<[string, (d: CocoDetection) => boolean]> = [
  [`torchvision: sqrt(p*c) > ${threshold}`, () => true],
  [`ours: p*c > ${threshold}`, (d) => d.score * d.score > threshold],
];
for (const [name, keep] of rules) {
  const kept = detections.filter(keep);
  const s = evaluateCoco(gt, kept).stats;
  console.log(`${name}: ${kept.length} detections (${(kept.length / gt.images.length).toFixed(1)} per image), AP ${(100 * s.AP).toFixed(2)} AP50 ${(100 * s.AP50).toFixed(2)} AP75 ${(100 * s.AP75).toFixed(2)} AR100 ${(100 * s.AR100).toFixed(2)}`);
}
