/**
 * A small detector-shaped conv net used by the wasm training test and the backend benchmark:
 * stride-2 conv stem with GroupNorm + ReLU, a 3-level FPN (1x1 laterals, nearest upsampling,
 * 3x3 outputs), a shared 2-conv head, sigmoid outputs, and a loss on gathered "positive"
 * positions so that the gradient of gather (UnsortedSegmentSum) is exercised too.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface ConvNetConfig {
  /** Channels of the stem convs; the last three outputs feed the FPN (C3, C4, C5). */
  stemChannels: number[];
  fpnChannels: number;
  numOutputs: number;
  groups: number;
  seed: number;
}

export interface ConvNet {
  variables: tf.Variable[];
  /** Scalar loss of the net on `images` against `targets` (one tensor per FPN level). */
  loss(images: tf.Tensor4D, targets: tf.Tensor4D[], positives: tf.Tensor1D[]): tf.Scalar;
  forward(images: tf.Tensor4D): tf.Tensor4D[];
  dispose(): void;
}

interface ConvParams {
  w: tf.Variable;
  b: tf.Variable;
}

function makeConv(kh: number, ci: number, co: number, seed: number, name: string): ConvParams {
  const std = Math.sqrt(2 / (kh * kh * ci));
  return {
    w: tf.variable(tf.randomNormal([kh, kh, ci, co], 0, std, 'float32', seed), true, `${name}/w`),
    b: tf.variable(tf.zeros([co]), true, `${name}/b`),
  };
}

function conv(x: tf.Tensor4D, p: ConvParams, stride: number): tf.Tensor4D {
  return tf.add(tf.conv2d(x, p.w as tf.Tensor4D, stride, 'same'), p.b);
}

function groupNorm(x: tf.Tensor4D, groups: number): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const grouped = tf.reshape(x, [n, h, w, groups, c / groups]);
  const { mean, variance } = tf.moments(grouped, [1, 2, 4], true);
  const normed = tf.div(tf.sub(grouped, mean), tf.sqrt(tf.add(variance, 1e-5)));
  return tf.reshape(normed, [n, h, w, c]);
}

export function createConvNet(config: ConvNetConfig): ConvNet {
  const { stemChannels, fpnChannels, numOutputs, groups } = config;
  let seed = config.seed;
  const stem: ConvParams[] = [];
  let ci = 3;
  stemChannels.forEach((co, i) => {
    stem.push(makeConv(3, ci, co, seed++, `stem${i}`));
    ci = co;
  });
  const levelChannels = stemChannels.slice(-3);
  const laterals = levelChannels.map((c, i) => makeConv(1, c, fpnChannels, seed++, `lateral${i}`));
  const outputs = levelChannels.map((_, i) => makeConv(3, fpnChannels, fpnChannels, seed++, `fpn${i}`));
  const head1 = makeConv(3, fpnChannels, fpnChannels, seed++, 'head1');
  const head2 = makeConv(3, fpnChannels, numOutputs, seed++, 'head2');
  const all = [...stem, ...laterals, ...outputs, head1, head2];
  const variables = all.flatMap((p) => [p.w, p.b]);

  function forward(images: tf.Tensor4D): tf.Tensor4D[] {
    let x = images;
    const features: tf.Tensor4D[] = [];
    for (const p of stem) {
      x = tf.relu(groupNorm(conv(x, p, 2), groups));
      features.push(x);
    }
    const levels = features.slice(-3);
    const inner: tf.Tensor4D[] = [];
    let top: tf.Tensor4D | undefined;
    for (let i = levels.length - 1; i >= 0; i--) {
      let lateral = conv(levels[i]!, laterals[i]!, 1);
      if (top !== undefined) {
        const [, h, w] = lateral.shape;
        lateral = tf.add(lateral, tf.image.resizeNearestNeighbor(top, [h, w]));
      }
      top = lateral;
      inner[i] = lateral;
    }
    return inner.map((f, i) => {
      const p = conv(f, outputs[i]!, 1);
      const h = tf.relu(groupNorm(conv(p, head1, 1), groups));
      return tf.sigmoid(conv(h, head2, 1));
    });
  }

  function loss(images: tf.Tensor4D, targets: tf.Tensor4D[], positives: tf.Tensor1D[]): tf.Scalar {
    const predictions = forward(images);
    const terms = predictions.map((pred, i) => {
      const dense = tf.mean(tf.square(tf.sub(pred, targets[i]!)));
      const flat = tf.reshape(pred, [-1, numOutputs]);
      const gathered = tf.gather(flat, positives[i]!);
      const positive = tf.mean(tf.neg(tf.log(tf.add(gathered, 1e-6))));
      return tf.add(dense, tf.mul(positive, 0.1));
    });
    return tf.addN(terms) as tf.Scalar;
  }

  return {
    variables,
    forward,
    loss,
    dispose: () => variables.forEach((v) => v.dispose()),
  };
}

/** Random images, targets in [0, 1] and positive indices, with a fixed seed. */
export function makeBatch(
  net: ConvNet,
  batch: number,
  size: number,
  seed: number,
  numPositives = 16,
): { images: tf.Tensor4D; targets: tf.Tensor4D[]; positives: tf.Tensor1D[] } {
  return tf.tidy(() => {
    const images = tf.randomUniform([batch, size, size, 3], 0, 1, 'float32', seed) as tf.Tensor4D;
    const shapes = net.forward(images).map((t) => t.shape);
    const targets = shapes.map(
      (s, i) => tf.cast(tf.greater(tf.randomUniform(s, 0, 1, 'float32', seed + 1 + i), 0.9), 'float32') as tf.Tensor4D,
    );
    const positives = shapes.map((s, i) => {
      const rows = s[0] * s[1] * s[2];
      return tf.cast(tf.floor(tf.randomUniform([numPositives], 0, rows, 'float32', seed + 10 + i)), 'int32') as tf.Tensor1D;
    });
    return { images, targets, positives };
  });
}
