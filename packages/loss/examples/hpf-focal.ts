/**
 * HPF focal loss over three pyramid levels, forward only (no gradient registration needed).
 *   node --import tsx packages/loss/examples/hpf-focal.ts
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { ProgressiveFocus, resolveHpfOptions, sigmoidFocalLoss } from '@hpf/loss';

await tf.setBackend('cpu');
const numClasses = 3;

// One level = the batch's priors of one FPN level: logits [N, C], labels [N] (C = background, -1 = ignore).
const level = (logits: number[][], labels: number[]) => ({
  logits: tf.tensor2d(logits),
  labels: tf.tensor1d(labels, 'int32'),
  labelWeights: tf.ones([labels.length]) as tf.Tensor1D,
});
const levels = [
  level([[4, -5, -5], [-5, -5, -5], [-5, 3, -5]], [0, numClasses, 1]), // P3: confident positives
  level([[-2, -4, -4], [-4, -4, -4]], [0, -1]), // P4: a hard positive, an ignored prior
  level([[-4, -4, -3]], [2]), // P5: a very hard positive
];

// RetinaNet publishes gamma 2, alpha 0.25: hpf true centres HPF on them (w = 0.5).
const focus = new ProgressiveFocus(resolveHpfOptions(true, { gamma: 2, alpha: 0.25 }));
const { loss, levels: stats } = focus.focalLoss(levels, { avgFactor: 4 }); // avgFactor: number of positives
console.log('HPF loss', loss.dataSync()[0]!.toFixed(5));
for (const s of stats) {
  console.log(`P${s.level + 3}: positives ${s.numPositives}, s = ${s.statistic?.toFixed(3)}, gamma = ${s.gamma.toFixed(3)}, alpha = ${s.alpha?.toFixed(3)}`);
}

// hpf: false is the published loss, op for op the static function.
const baseline = new ProgressiveFocus(resolveHpfOptions(false, { gamma: 2, alpha: 0.25 })).focalLoss(levels, { avgFactor: 4 }).loss;
const direct = tf.div(tf.addN(levels.map((l) => sigmoidFocalLoss(l, { gamma: 2, alpha: 0.25, reduction: 'sum' }))), 4);
console.log('baseline', baseline.dataSync()[0]!.toFixed(5), '=', direct.dataSync()[0]!.toFixed(5));
tf.dispose([loss, baseline, direct, ...levels.flatMap((l) => [l.logits, l.labels, l.labelWeights])]);
