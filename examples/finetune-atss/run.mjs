// Fine-tunes ATSS (with HPF) from an ImageNet-pretrained ResNet on a COCO folder: DIR/train and
// DIR/val, each instances.json + images. The weights are torchvision's (or timm's) converted to
// .safetensors: README.md beside this file has the steps.
//   node examples/finetune-atss/run.mjs --data DIR --weights resnet50.safetensors [--backbone resnet50]
//        [--steps 1000] [--input-size 320] [--batch-size 2] [--lr <0.01 x batch / 16>] [--out runs/finetune-atss]
// The same with the command:
//   hpf train --detector atss --data DIR --backbone resnet50 --backbone-weights resnet50.safetensors \
//             --input-size 320 --batch-size 2 --lr 0.00125 --steps 1000 --out runs/finetune-atss
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { initBackend, formatBackendChoice } from '@hpf/engine/node';
import { runTraining, TRAIN_DEFAULTS } from '@hpf/cli';

const { values: args } = parseArgs({
  options: {
    data: { type: 'string' },
    weights: { type: 'string' },
    backbone: { type: 'string', default: 'resnet50' },
    steps: { type: 'string', default: '1000' },
    'input-size': { type: 'string', default: '320' },
    'batch-size': { type: 'string', default: '2' },
    lr: { type: 'string' },
    out: { type: 'string', default: 'runs/finetune-atss' },
  },
  strict: true,
});
if (args.data === undefined || args.weights === undefined) {
  console.error('usage: node examples/finetune-atss/run.mjs --data DIR --weights FILE.safetensors [--backbone resnet50] [--steps 1000] ...');
  process.exit(1);
}
const batchSize = Number(args['batch-size']);
// mmdetection's ATSS: lr 0.01 for 16 images per iteration; the linear scaling rule for other batches.
const lr = args.lr === undefined ? (0.01 * batchSize) / 16 : Number(args.lr);

console.log(formatBackendChoice(await initBackend()));
const out = resolve(args.out, `${args.backbone}-${Date.now()}`);
const result = await runTraining(
  {
    ...TRAIN_DEFAULTS,
    detector: 'atss',
    hpf: true,
    data: resolve(args.data),
    out,
    backbone: args.backbone,
    // frozenStages 1 and normEval true (mmdetection's fine-tuning) and the ImageNet input
    // normalisation follow from the pretrained weights; set frozenStages / normEval to override.
    backboneWeights: resolve(args.weights),
    steps: Number(args.steps),
    inputSize: Number(args['input-size']),
    batchSize,
    lr,
  },
  {
    log: console.log,
    onIteration: (e) => {
      if (e.iteration % 20 === 0 || e.iteration === e.steps - 1) {
        console.log(`iter ${e.iteration + 1}/${e.steps}  loss ${e.losses.total.toFixed(3)}  lr ${e.lr.toPrecision(3)}  ${e.imagesPerSecond.toFixed(2)} img/s  ETA ${e.etaSeconds.toFixed(0)} s`);
      }
    },
  },
);
const { AP, AP50 } = result.stats;
console.log(`AP ${(100 * AP).toFixed(1)}  AP50 ${(100 * AP50).toFixed(1)} after ${result.steps} iterations (${result.trainSeconds.toFixed(0)} s); run folder ${out}`);
console.log(`predict with: hpf predict --run ${out} --images ${resolve(args.data, 'val')} --out ${out}/predict`);
