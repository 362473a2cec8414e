// tf.variableGrads through a small module tree (stride-2 conv with torch padding, train-mode
// BatchNorm with its running-stat side effect, GroupNorm, nearest 2x upsample, extra conv) against
// central finite differences of the same forward.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { BatchNorm2d, Conv2d, GroupNorm, Module, createRng, upsampleNearest } from '../src/index.js';
import { arr4, toTensor } from './nn-reference.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

class Tiny extends Module<tf.Tensor4D, tf.Tensor4D> {
  readonly down = this.registerModule('down', new Conv2d({ inChannels: 2, outChannels: 4, kernelSize: 3, stride: 2, padding: 1, rng: createRng(1) }));
  readonly bn = this.registerModule('bn', new BatchNorm2d(4));
  readonly gn = this.registerModule('gn', new GroupNorm(2, 4));
  readonly out = this.registerModule('out', new Conv2d({ inChannels: 4, outChannels: 3, kernelSize: 3, padding: 1, rng: createRng(2) }));

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const h = tf.relu(this.gn.forward(this.bn.forward(this.down.forward(x))));
      return this.out.forward(upsampleNearest(h, x.shape[1], x.shape[2]));
    });
  }
}

describe('gradients vs central finite differences', () => {
  it('matches for conv, BatchNorm (train mode) and GroupNorm parameters', () => {
    const net = new Tiny();
    // Non-trivial affine parameters so their gradients are not degenerate.
    net.gn.weight?.assign(tf.tensor1d([1.2, 0.7, -0.9, 1.5]));
    net.bn.bias.assign(tf.tensor1d([0.3, -0.2, 0.1, 0.4]));
    const x = toTensor(arr4([2, 7, 5, 2], 3));
    const target = toTensor(arr4([2, 7, 5, 3], 4));
    const loss = () => tf.tidy(() => tf.sum(tf.mul(tf.square(tf.sub(net.forward(x), target)), 0.5)) as tf.Scalar);
    const { grads, value } = tf.variableGrads(loss);
    const probes: Array<[tf.Variable, number]> = [
      [net.down.weight, 0],
      [net.down.weight, 37],
      [net.down.bias!, 2],
      [net.bn.weight, 1],
      [net.bn.bias, 3],
      [net.gn.weight!, 2],
      [net.gn.bias!, 0],
      [net.out.weight, 50],
    ];
    const eps = 5e-3;
    for (const [variable, index] of probes) {
      const base = variable.dataSync().slice() as Float32Array;
      const at = (delta: number) => {
        const values = base.slice();
        values[index] = (values[index] as number) + delta;
        variable.assign(tf.tensor(values, variable.shape));
        const l = loss();
        const v = l.dataSync()[0] as number;
        l.dispose();
        return v;
      };
      const numeric = (at(eps) - at(-eps)) / (2 * eps);
      variable.assign(tf.tensor(base, variable.shape));
      const analytic = (grads[variable.name] as tf.Tensor).dataSync()[index] as number;
      expect(Math.abs(analytic - numeric), `${variable.name}[${index}]: ${analytic} vs ${numeric}`).toBeLessThan(2e-3 * Math.max(1, Math.abs(numeric)));
    }
    tf.dispose([x, target, value, ...Object.values(grads)]);
    net.dispose();
  });
});
