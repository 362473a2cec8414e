import * as tf from '@tensorflow/tfjs-core';
import { fillNormal, fillUniform, type Rng } from './rng.js';

/**
 * How to initialise a weight. Fans follow torch for a conv weight: fan_in = in * kh * kw,
 * fan_out = out * kh * kw (our HWIO layout [kh, kw, in, out] gives the same numbers).
 */
export type WeightInit =
  /** torch's nn.Conv2d default: kaiming_uniform_(a = sqrt(5)), i.e. U(+-1/sqrt(fan_in)). */
  | { kind: 'torchDefault' }
  /** torchvision ResNet convs: kaiming_normal_(mode='fan_out', nonlinearity='relu'). */
  | { kind: 'kaimingNormal'; mode?: 'fan_in' | 'fan_out' }
  /** kaiming_uniform_ with leaky-relu slope `a` (torchvision FPN uses a = 1). */
  | { kind: 'kaimingUniform'; a?: number; mode?: 'fan_in' | 'fan_out' }
  /** mmdet FPN convs (xavier_init, distribution 'uniform'). */
  | { kind: 'xavierUniform'; gain?: number }
  /** Detection heads: normal_init(std = 0.01). */
  | { kind: 'normal'; std: number; mean?: number }
  | { kind: 'constant'; value: number };

/** Bias: a constant, or torch's default U(+-1/sqrt(fan_in)). */
export type BiasInit = number | 'torchDefault';

/** fan_in / fan_out of an HWIO conv weight or an [in, out] dense weight. */
export function computeFans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length < 2) throw new Error(`computeFans: need a weight of rank >= 2, got shape [${shape.join(', ')}]`);
  const inC = shape[shape.length - 2] as number;
  const outC = shape[shape.length - 1] as number;
  let receptive = 1;
  for (let i = 0; i < shape.length - 2; i++) receptive *= shape[i] as number;
  return { fanIn: inC * receptive, fanOut: outC * receptive };
}

/** A new float32 tensor of `shape` drawn per `init` from `rng` (caller owns it). */
export function initWeight(shape: number[], init: WeightInit, rng: Rng): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(size);
  const { fanIn, fanOut } = computeFans(shape);
  switch (init.kind) {
    case 'torchDefault':
      fillUniform(values, rng, -1 / Math.sqrt(fanIn), 1 / Math.sqrt(fanIn));
      break;
    case 'kaimingNormal': {
      const fan = (init.mode ?? 'fan_out') === 'fan_out' ? fanOut : fanIn;
      fillNormal(values, rng, 0, Math.SQRT2 / Math.sqrt(fan));
      break;
    }
    case 'kaimingUniform': {
      const a = init.a ?? 0;
      const fan = (init.mode ?? 'fan_in') === 'fan_out' ? fanOut : fanIn;
      const bound = Math.sqrt(6 / ((1 + a * a) * fan));
      fillUniform(values, rng, -bound, bound);
      break;
    }
    case 'xavierUniform': {
      const bound = (init.gain ?? 1) * Math.sqrt(6 / (fanIn + fanOut));
      fillUniform(values, rng, -bound, bound);
      break;
    }
    case 'normal':
      fillNormal(values, rng, init.mean ?? 0, init.std);
      break;
    case 'constant':
      values.fill(init.value);
      break;
    default: {
      const unknown: never = init;
      throw new Error(`initWeight: unknown init ${JSON.stringify(unknown)}`);
    }
  }
  return tf.tensor(values, shape, 'float32');
}

/** A new bias tensor [outChannels] (caller owns it). */
export function initBias(outChannels: number, init: BiasInit, fanIn: number, rng: Rng): tf.Tensor1D {
  const values = new Float32Array(outChannels);
  if (init === 'torchDefault') fillUniform(values, rng, -1 / Math.sqrt(fanIn), 1 / Math.sqrt(fanIn));
  else values.fill(init);
  return tf.tensor1d(values, 'float32');
}

/**
 * Classification-bias so that sigmoid(bias) = priorProb at start (focal-loss paper):
 * bias = -log((1 - p) / p). p = 0.01 gives -4.59511985...
 */
export function biasInitWithProb(priorProb: number): number {
  if (!(priorProb > 0 && priorProb < 1)) throw new Error(`biasInitWithProb: priorProb must be in (0, 1), got ${priorProb}`);
  return -Math.log((1 - priorProb) / priorProb);
}
