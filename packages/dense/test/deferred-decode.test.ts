import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { DeltaXYWHCoder, DistanceCoder, deltaBoxDecoder, distanceBoxDecoder, finishDetections, type BoxDecoder } from '../src/index.js';
import { randomBoxes, rng } from './fixtures/geometry/reference.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

// All boxes of a [B, n, 4] regression through a per-prior decoder, in the tensor's layout.
function decodeAll(decoder: BoxDecoder, regression: Float32Array, batch: number, n: number): Float32Array {
  const out = new Float32Array(batch * n * 4);
  for (let b = 0; b < batch; b++) for (let p = 0; p < n; p++) decoder(regression, b, p, out, 4 * (b * n + p));
  return out;
}

describe('deltaBoxDecoder', () => {
  const rand = rng(21);
  const n = 300;
  const batch = 2;
  const priors = Float32Array.from(randomBoxes(rand, n, 100, 40).flat());
  // Deltas up to +-6 so that the width/height clamp (|log(16/1000)| = 4.14) and the image clip act.
  const deltas = Float32Array.from({ length: batch * n * 4 }, () => (rand() - 0.5) * 12);

  for (const [name, options, maxShape] of [
    ['defaults, clipped to the image', {}, [90, 70]],
    ['means, stds and the centre clamp', { means: [0.1, -0.1, 0.05, 0], stds: [0.1, 0.1, 0.2, 0.2], addCtrClamp: true, ctrClamp: 8 }, [90, 70]],
    ['no border clip', { clipBorder: false }, [90, 70]],
  ] as const) {
    it(`equals DeltaXYWHCoder.decode bit for bit (${name})`, () => {
      const coder = new DeltaXYWHCoder(options as ConstructorParameters<typeof DeltaXYWHCoder>[0]);
      const want = tf.tidy(() => coder.decode(tf.tensor2d(priors, [n, 4]), tf.tensor3d(deltas, [batch, n, 4]), [maxShape[0], maxShape[1]]).dataSync());
      const got = decodeAll(deltaBoxDecoder(coder, priors, n, [maxShape[0], maxShape[1]]), deltas, batch, n);
      expect(Array.from(got)).toEqual(Array.from(want));
      // The cases reach the clamps: some boxes touch the border or differ from the unclipped ones.
      if (coder.clipBorder) expect(Array.from(got).filter((v) => v === 0).length).toBeGreaterThan(10);
    });
  }

  it('rejects priors of the wrong length', () => {
    expect(() => deltaBoxDecoder(new DeltaXYWHCoder(), priors, n + 1, [90, 70])).toThrow(/deltaBoxDecoder: priors have length 1200, expected 4 x 301/);
  });
});

describe('distanceBoxDecoder', () => {
  const rand = rng(22);
  const n = 200;
  const batch = 3;
  const distances = Float32Array.from({ length: batch * n * 4 }, () => rand() * 7);

  for (const pointDim of [2, 4] as const) {
    for (const clip of [true, false]) {
      it(`equals DistanceCoder.decode bit for bit (points [n, ${pointDim}], stride 16, ${clip ? '' : 'no '}clip)`, () => {
        const points = Float32Array.from({ length: n * pointDim }, (_, i) => (i % pointDim < 2 ? rand() * 100 + 0.37 : 16));
        const coder = new DistanceCoder({ clipBorder: clip });
        const want = tf.tidy(() => coder.decode(tf.tensor2d(points, [n, pointDim]), tf.tensor3d(distances, [batch, n, 4]), { stride: 16, maxShape: [96, 80] }).dataSync());
        const got = decodeAll(distanceBoxDecoder({ points, pointDim, numPriors: n, stride: 16, maxShape: clip ? [96, 80] : undefined }), distances, batch, n);
        expect(Array.from(got)).toEqual(Array.from(want));
        expect(Array.from(got).some((v) => v === 80)).toBe(clip);
      });
    }
  }

  it('rejects points of the wrong length', () => {
    expect(() => distanceBoxDecoder({ points: new Float32Array(10), pointDim: 2, numPriors: 4 })).toThrow(/distanceBoxDecoder: points have length 10, expected 2 x 4/);
  });
});

describe('finishDetections with deferred levels', () => {
  it('gives the detections of decoding every prior, decoding only the top-k', async () => {
    const rand = rng(23);
    const batch = 2;
    const sizes = [120, 30];
    const coder = new DeltaXYWHCoder({ stds: [0.1, 0.1, 0.2, 0.2] });
    const options = { scoreThreshold: 0.05, nmsPre: 25, iouThreshold: 0.5, maxPerImage: 30 };
    const levels = sizes.map((n) => ({
      priors: Float32Array.from(randomBoxes(rand, n, 64, 24).flat()),
      scores: tf.tensor3d(Float32Array.from({ length: batch * n * 3 }, () => rand() ** 2), [batch, n, 3]),
      regression: tf.tensor3d(Float32Array.from({ length: batch * n * 4 }, () => rand() - 0.5), [batch, n, 4]),
    }));
    const decoded = levels.map((l, i) => ({
      scores: l.scores,
      boxes: coder.decode(tf.tensor2d(l.priors, [sizes[i]!, 4]), l.regression, [64, 64]) as tf.Tensor3D,
    }));
    let calls = 0;
    const deferred = levels.map((l, i) => {
      const decode = deltaBoxDecoder(coder, l.priors, sizes[i]!, [64, 64]);
      return { scores: l.scores, regression: l.regression, decodeBox: ((...args) => (calls++, decode(...args))) as BoxDecoder };
    });
    const before = tf.memory().numTensors;
    const want = await finishDetections(decoded, undefined, options);
    const got = await finishDetections(deferred, undefined, options);
    expect(tf.memory().numTensors).toBe(before);
    expect(want.map((d) => d.length)).toEqual([30, 30]);
    expect(got).toEqual(want);
    // 2 images x (25 + 25) candidates, not 2 x 150 priors.
    expect(calls).toBe(100);
    await expect(finishDetections([{ ...deferred[0]!, regression: levels[1]!.regression }], undefined, options)).rejects.toThrow(
      /predict: level 0 regression must have shape \[2, 120, 4\], got \[2, 30, 4\]/,
    );
    tf.dispose([...levels.flatMap((l) => [l.scores, l.regression]), ...decoded.map((d) => d.boxes)]);
  });
});
