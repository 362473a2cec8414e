// Train a one-layer conv "detector head" for a few steps with the engine's trainer on the best
// available backend. Build first (`npx tsup` in packages/engine), then from the repository root:
//   node packages/engine/examples/quickstart.mjs
import * as tf from '@tensorflow/tfjs-core';
import {
  assertNoTensorLeak,
  createLrSchedule,
  createRng,
  installTrainingKernels,
  SgdMomentum,
  trainStep,
} from '@hpf/engine';
import { formatBackendChoice, initBackend } from '@hpf/engine/node';

// Gradients and the wasm training kernels (trainStep would also do this on its first call).
installTrainingKernels();

const choice = await initBackend(); // honours HPF_BACKEND=tensorflow|wasm|cpu|...
console.log('backend:', formatBackendChoice(choice));

const rng = createRng(42);
const w = tf.variable(tf.randomNormal([3, 3, 3, 4], 0, 0.1, 'float32', rng.tfSeed()), true, 'head/w');
const images = tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', rng.tfSeed());
const targets = tf.randomUniform([2, 16, 16, 4], 0, 1, 'float32', rng.tfSeed());

const optimizer = new SgdMomentum([w], { momentum: 0.9, weightDecay: 1e-4 });
const lr = createLrSchedule({ baseLr: 0.5, warmupIters: 5, steps: [15] });
const lossFn = () => ({
  mse: tf.mean(tf.square(tf.sub(tf.sigmoid(tf.conv2d(images, w, 2, 'same')), targets))),
});

let iteration = 0;
await assertNoTensorLeak(
  () => {
    const { losses } = trainStep({ lossFn, variables: [w], optimizer, lr: lr(iteration), iteration, clipGradNorm: 10 });
    if (iteration % 5 === 0) console.log(`iter ${iteration} lr ${lr(iteration).toExponential(2)} loss ${losses.mse.toFixed(5)}`);
    iteration++;
  },
  { warmup: 1, iterations: 19, label: 'training loop' },
);
console.log(`20 iterations, no tensor leaked; final loss ${lossFn().mse.dataSync()[0].toFixed(5)}`);
