/**
 * Forward + backward time of the deformable convolution on the wasm backend: this package's
 * gather formulation (`deformConv2d`: one gather of the K x 4 corner rows, whose gradient is the
 * UnsortedSegmentSum kernel @hpf/engine registers), a dense one-hot formulation (a sampling matrix
 * [Ho Wo K, H W] per image times the input, no scatter; written here for the comparison only) and,
 * as a reference, a regular `tf.conv2d` of the same shape.
 * Run from the repository root: node --import tsx packages/vfnet/bench/deform-conv.bench.ts [--runs 9] [--batch 2] [--channels 64] [--sizes 8,16,32]
 * Gradients w.r.t. input, offsets and weight of sum(out * upstream); median of `runs` after two
 * warm-ups; the three variants alternate call by call.
 */
import { register } from 'node:module';
import { parseArgs } from 'node:util';

// tfjs-core's ESM gradients import is a directory under Node's resolver; resolve it as a file.
register('../../../tools/tfjs-core-resolve-hook.mjs', import.meta.url);

const tf = await import('@tensorflow/tfjs-core');
await import('@tensorflow/tfjs-backend-wasm');
const { installTrainingKernels } = await import('@hpf/engine');
const { deformConv2d, deformSamplingPlan } = await import('../src/index.js');
type Tensor4D = import('@tensorflow/tfjs-core').Tensor4D;

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '9' },
    batch: { type: 'string', default: '2' },
    channels: { type: 'string', default: '64' },
    sizes: { type: 'string', default: '8,16,32' },
  },
});
const runs = Number(values.runs);
const batch = Number(values.batch);
const channels = Number(values.channels);
const sizes = values.sizes.split(',').map(Number);

installTrainingKernels();
await tf.setBackend('wasm');

/** The dense alternative: per image, S [Ho Wo K, H W] (bilinear weights at one-hot corners) times X [H W, C]. */
function deformConv2dOneHot(x: Tensor4D, offsets: Tensor4D, weight: Tensor4D): Tensor4D {
  const [n, h, w, c] = x.shape;
  const cout = weight.shape[3];
  const plan = deformSamplingPlan(offsets, [h, w], [3, 3]);
  try {
    return tf.tidy(() => {
      const local = tf.mod(plan.index, tf.scalar(h * w, 'int32'));
      // tf.oneHot(.., 'float32') is wrong on wasm (tfjs 4.22): build int32 and cast.
      const corners = tf.reshape(tf.cast(tf.oneHot(local, h * w), 'float32'), [n, h * w * 9, 4, h * w]);
      const sampling = tf.sum(tf.mul(corners, tf.reshape(plan.weights, [n, h * w * 9, 4, 1])), 2);
      const sampled = tf.matMul(sampling, tf.reshape(x, [n, h * w, c]));
      return tf.reshape(tf.matMul(tf.reshape(sampled, [n * h * w, 9 * c]), tf.reshape(weight, [9 * c, cout])), [n, h, w, cout]) as Tensor4D;
    });
  } finally {
    plan.dispose();
  }
}

const median = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)]!;

console.log(`wasm, batch ${batch}, ${channels} -> ${channels} channels, 3x3, forward + backward (input, offsets, weight); median of ${runs} runs (ms)`);
console.log('| map | gather (this package) | one-hot matrix | tf.conv2d | gather / conv2d | one-hot / gather |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const size of sizes) {
  const x = tf.randomUniform([batch, size, size, channels], -1, 1, 'float32', 1) as Tensor4D;
  const offsets = tf.randomUniform([batch, size, size, 18], -2, 2, 'float32', 2) as Tensor4D;
  const weight = tf.randomNormal([3, 3, channels, channels], 0, 0.05, 'float32', 3) as Tensor4D;
  const upstream = tf.randomUniform([batch, size, size, channels], -1, 1, 'float32', 4) as Tensor4D;
  const variants: Array<[string, (a: Tensor4D, o: Tensor4D, k: Tensor4D) => Tensor4D]> = [
    ['gather', (a, o, k) => deformConv2d(a, o, k)],
    ['one-hot', (a, o, k) => deformConv2dOneHot(a, o, k)],
    ['conv2d', (a, _o, k) => tf.conv2d(a, k, 1, 'same')],
  ];
  const times: number[][] = variants.map(() => []);
  type T = import('@tensorflow/tfjs-core').Tensor;
  const once = (v: number) => {
    const f = variants[v]![1];
    const start = performance.now();
    // conv2d has no offsets: its gradients are w.r.t. input and weight only.
    const grads =
      v === 2
        ? tf.grads((a: T, k: T) => tf.sum(tf.mul(f(a as Tensor4D, offsets, k as Tensor4D), upstream)))([x, weight])
        : tf.grads((a: T, o: T, k: T) => tf.sum(tf.mul(f(a as Tensor4D, o as Tensor4D, k as Tensor4D), upstream)))([x, offsets, weight]);
    grads.forEach((g) => g.dataSync());
    tf.dispose(grads);
    return performance.now() - start;
  };
  for (let i = 0; i < 2; i++) variants.forEach((_, v) => once(v));
  for (let i = 0; i < runs; i++) {
    const order = i % 2 === 0 ? [0, 1, 2] : [2, 1, 0];
    for (const v of order) times[v]!.push(once(v));
  }
  const [g, o, c] = times.map(median) as [number, number, number];
  console.log(`| ${size} x ${size} | ${g.toFixed(1)} | ${o.toFixed(1)} | ${c.toFixed(1)} | ${(g / c).toFixed(2)} | ${(o / g).toFixed(2)} |`);
  tf.dispose([x, offsets, weight, upstream]);
}
