// Training on your own COCO data. This script first writes a small COCO dataset of its own (squares
// and discs on noise, 96x96 px, ids 7 and 3 to show that category ids need not be 0..C-1), in the
// layout `hpf train --data DIR` expects: DIR/train/instances.json + images, DIR/val/instances.json
// + images. Then it trains RetinaNet with HPF on it, evaluates, and draws predictions.
//   node examples/custom-coco/run.mjs [--steps 200] [--out runs/custom-coco]
// The same with the command:  hpf train --detector retinanet --data runs/custom-coco/data --out runs/custom-coco/run
//                             hpf predict --run runs/custom-coco/run --images runs/custom-coco/data/val --out runs/custom-coco/predict
import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CocoFolderWriter, readCocoDataset } from '@hpf/data';
import { createRng } from '@hpf/engine';
import { initBackend, formatBackendChoice } from '@hpf/engine/node';
import { runTraining, openRun, listImages, predictImages, TRAIN_DEFAULTS } from '@hpf/cli';

const { values: args } = parseArgs({
  options: { steps: { type: 'string', default: '200' }, out: { type: 'string', default: 'runs/custom-coco' } },
  strict: true,
});
const out = resolve(args.out);
const dataDir = join(out, 'data');
const CATEGORIES = [{ id: 7, name: 'square' }, { id: 3, name: 'disc' }];

function writeSplit(split, count, seed) {
  const rng = createRng(seed);
  const size = 96;
  const writer = new CocoFolderWriter(join(dataDir, split), CATEGORIES);
  for (let n = 0; n < count; n++) {
    const data = new Uint8Array(size * size * 3);
    for (let k = 0; k < data.length; k++) data[k] = 40 + rng.int(0, 60);
    const annotations = [];
    for (let s = 0, shapes = rng.int(1, 4); s < shapes; s++) {
      const side = rng.int(10, 40);
      const x0 = rng.int(0, size - side);
      const y0 = rng.int(0, size - side);
      const disc = rng.uniform() < 0.5;
      const color = [rng.int(120, 256), rng.int(120, 256), rng.int(120, 256)];
      const r = side / 2;
      for (let y = y0; y < y0 + side; y++) {
        for (let x = x0; x < x0 + side; x++) {
          if (disc && (x + 0.5 - x0 - r) ** 2 + (y + 0.5 - y0 - r) ** 2 > r * r) continue;
          data.set(color, (y * size + x) * 3);
        }
      }
      annotations.push({ bbox: [x0, y0, side, side], categoryId: disc ? 3 : 7 });
    }
    writer.addImage(`${String(n).padStart(4, '0')}.png`, { width: size, height: size, data }, annotations);
  }
  writer.finish();
}

if (!existsSync(join(dataDir, 'val', 'instances.json'))) {
  writeSplit('train', 256, 1);
  writeSplit('val', 64, 2);
  console.log(`wrote a COCO dataset into ${dataDir}`);
}
console.log(formatBackendChoice(await initBackend()));
const runDir = join(out, `run-${Date.now()}`);
const result = await runTraining(
  { ...TRAIN_DEFAULTS, detector: 'retinanet', hpf: true, data: dataDir, out: runDir, steps: Number(args.steps) },
  { log: console.log, onIteration: (e) => e.iteration % 50 === 0 && console.log(`iter ${e.iteration} loss ${e.losses.total.toFixed(3)}`) },
);
console.log(`AP ${(100 * result.stats.AP).toFixed(1)}  AP50 ${(100 * result.stats.AP50).toFixed(1)} on ${readCocoDataset(join(dataDir, 'val')).images.length} val images`);

const run = await openRun(runDir);
const { detections, files } = await predictImages(run.detector, listImages(join(dataDir, 'val')).slice(0, 8), {
  inputSize: run.meta.inputSize,
  batchSize: 8,
  labelToCategoryId: run.meta.categories.map((c) => c.id),
  drawThreshold: 0.3,
  outDir: join(out, 'predict'),
});
run.detector.dispose();
console.log(`${detections.length} detections; drawn: ${files[0]} ...`);
