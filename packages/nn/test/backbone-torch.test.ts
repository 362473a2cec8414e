// Blocks and FPN against torchvision itself, with torch weights mapped by name (the path real
// pretrained weights would take). Fixture: fixtures/model/gen_torch_blocks.py.
import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { BasicBlock, Bottleneck, createFpn, createRng, loadStateDict, type AnyModule, type ExtraConvSource } from '../src/index.js';

interface T {
  shape: number[];
  data: number[];
}
interface BlockCase {
  state: Record<string, T>;
  input: T;
  outputEval: T;
  outputTrain: T;
  stateAfterTrain: Record<string, T>;
}
interface FpnCase {
  state: Record<string, T>;
  inputs: T[];
  outputs: T[];
}
interface GradCase {
  state: Record<string, T>;
  input: T;
  probe: T;
  grads: Record<string, T>;
  inputGrad: T;
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/model/torch_blocks.json', import.meta.url), 'utf8')) as {
  basic: BlockCase;
  bottleneck: BlockCase;
  fpnOnOutput: FpnCase;
  fpnOnInput: FpnCase;
  basicGrad: GradCase;
};

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const tensor = (t: T) => tf.tensor(t.data, t.shape, 'float32');

function load(module: AnyModule, state: Record<string, T>, rename: (name: string) => string = (n) => n): void {
  const tensors = Object.fromEntries(Object.entries(state).map(([name, t]) => [rename(name), tensor(t)]));
  loadStateDict(module, tensors);
  tf.dispose(Object.values(tensors));
}

async function maxDiff(actual: tf.Tensor, expected: T): Promise<number> {
  expect(actual.shape).toEqual(expected.shape);
  const a = await actual.data();
  return expected.data.reduce((m, v, i) => Math.max(m, Math.abs(v - (a[i] as number))), 0);
}

describe('ResNet blocks vs torchvision', () => {
  const blocks = {
    basic: () => new BasicBlock(createRng(0), { type: 'bn' }, 4, 6, 2),
    bottleneck: () => new Bottleneck(createRng(0), { type: 'bn' }, 8, 4, 2),
  };
  for (const kind of ['basic', 'bottleneck'] as const) {
    it(`${kind} (stride 2, projection shortcut): eval output, train output and running stats`, async () => {
      const c = fixture[kind];
      const block = blocks[kind]();
      load(block, c.state);
      const x = tensor(c.input) as tf.Tensor4D;
      block.eval();
      const yEval = block.forward(x);
      expect(await maxDiff(yEval, c.outputEval)).toBeLessThan(1e-4);
      block.train();
      const yTrain = block.forward(x);
      expect(await maxDiff(yTrain, c.outputTrain)).toBeLessThan(1e-4);
      const state = new Map(block.stateDict());
      for (const [name, expected] of Object.entries(c.stateAfterTrain)) {
        expect(await maxDiff(state.get(name)!, expected), name).toBeLessThan(1e-5);
      }
      tf.dispose([x, yEval, yTrain]);
      block.dispose();
    });
  }
});

describe('ResNet block gradients vs torch autograd', () => {
  it('basic block in training mode (batch statistics): every parameter and the input', async () => {
    const c = fixture.basicGrad;
    const block = new BasicBlock(createRng(0), { type: 'bn' }, 4, 6, 2);
    load(block, c.state);
    block.train();
    const x = tensor(c.input) as tf.Tensor4D;
    const probe = tensor(c.probe);
    const params = new Map(block.namedParameters());
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(block.forward(x), probe)) as tf.Scalar, [...params.values()]);
    expect(Object.keys(c.grads).sort()).toEqual([...params.keys()].sort());
    for (const [name, expected] of Object.entries(c.grads)) {
      const scale = expected.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      expect(await maxDiff(grads[params.get(name)!.name]!, expected), name).toBeLessThan(1e-4 * Math.max(1, scale));
    }
    const dx = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(block.forward(xi as tf.Tensor4D), probe)))(x);
    expect(await maxDiff(dx, c.inputGrad)).toBeLessThan(1e-4);
    tf.dispose([x, probe, value, dx, ...Object.values(grads)]);
    block.dispose();
  });
});

/** torchvision FPN names -> ours (mmdet's). */
function fpnName(name: string): string {
  return name
    .replace(/^inner_blocks\.(\d+)\.0\./, 'lateral_convs.$1.conv.')
    .replace(/^layer_blocks\.(\d+)\.0\./, 'fpn_convs.$1.conv.')
    .replace(/^extra_blocks\.p6\./, 'fpn_convs.3.conv.')
    .replace(/^extra_blocks\.p7\./, 'fpn_convs.4.conv.');
}

describe('FPN vs torchvision FeaturePyramidNetwork + LastLevelP6P7', () => {
  const cases: Array<[keyof typeof fixture & `fpn${string}`, ExtraConvSource]> = [
    ['fpnOnOutput', 'on_output'],
    ['fpnOnInput', 'on_input'],
  ];
  for (const [key, extraConvs] of cases) {
    it(`${extraConvs} (P7 from relu(P6)), odd map sizes`, async () => {
      const c = fixture[key];
      const fpn = createFpn({ inChannels: [4, 6, 8], outChannels: 5, extraConvs, reluBeforeExtraConvs: true });
      load(fpn, c.state, fpnName);
      const inputs = c.inputs.map((t) => tensor(t) as tf.Tensor4D);
      const outs = fpn.forward(inputs);
      expect(outs).toHaveLength(5);
      for (const [i, o] of outs.entries()) expect(await maxDiff(o, c.outputs[i]!), `P${i + 3}`).toBeLessThan(1e-4);
      tf.dispose([...inputs, ...outs]);
      fpn.dispose();
    });
  }
});
