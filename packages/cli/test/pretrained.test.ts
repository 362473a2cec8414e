// Pretrained starting weights through `hpf train`: --backbone-weights with mmdetection's
// fine-tuning defaults (frozen stem + layer1, BatchNorm statistics frozen) and --load-from.
// Weights: @hpf/nn's torchvision fixture (ResNet-18 at width / 4 = the resnet18-mini layout).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '@hpf/engine';
import { createBackbone, WeightsMismatchError } from '@hpf/nn';
import { loadBackboneWeights, saveTorchState } from '@hpf/nn/node';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createProgram, trainOptionsFromCli, type TrainCliOptions } from '../src/cli-app.js';
import { readCheckpoint } from '@hpf/engine/node';
import { applyInitialWeights, backboneOption } from '../src/initial-weights.js';
import { buildDetector, detectorOptionsFor, runTraining, type CheckpointMeta, type TrainOptions } from '../src/train.js';
import { tinyDataset, tinyOptions } from './support.js';

const R18 = new URL('../../nn/test/fixtures/pretrained/resnet18-w16.safetensors', import.meta.url).pathname;

let data = '';
beforeAll(async () => {
  registerWasmTrainingKernels();
  await tf.setBackend('wasm');
  data = tinyDataset();
});

const scratch = (): string => mkdtempSync(join(tmpdir(), 'hpf-cli-pretrained-'));

async function parseTrain(args: string[]): Promise<{ options?: TrainOptions; err: string }> {
  let err = '';
  const program = createProgram({ out: () => {}, err: (t) => void (err += t) });
  let parsed: TrainCliOptions | undefined;
  program.commands.find((c) => c.name() === 'train')!.action((o: TrainCliOptions) => void (parsed = o));
  try {
    await program.parseAsync(['node', 'hpf', 'train', '--detector', 'atss', '--data', 'd', '--out', 'o', ...args]);
  } catch {
    // commander's exitOverride: the message is in err
  }
  return parsed === undefined ? { err } : { options: trainOptionsFromCli(parsed), err };
}

describe('options', () => {
  it('--backbone-weights brings mmdetection fine-tuning defaults; explicit flags win; without weights nothing changes', async () => {
    const pretrained = (await parseTrain(['--backbone', 'resnet50', '--backbone-weights', 'w.safetensors'])).options!;
    expect(pretrained).toMatchObject({ backbone: 'resnet50', backboneWeights: 'w.safetensors' });
    expect(backboneOption(pretrained)).toEqual({ preset: 'resnet50', frozenStages: 1, normEval: true, inputNorm: 'imagenet' });
    const custom = (await parseTrain(['--backbone', 'resnet34', '--load-from', 'x.safetensors', '--frozen-stages', '-1', '--no-norm-eval', '--input-norm', 'none'])).options!;
    expect(backboneOption(custom)).toBe('resnet34');
    expect((await parseTrain(['--input-norm', 'yes'])).err).toMatch(/'yes' is invalid/);
    const partly = (await parseTrain(['--frozen-stages', '2'])).options!;
    expect(backboneOption(partly)).toEqual({ preset: 'resnet18-mini', frozenStages: 2, normEval: false });
    const plain = (await parseTrain([])).options!;
    expect(backboneOption(plain)).toBe('resnet18-mini');
    expect(detectorOptionsFor(plain, 3, 64).backbone).toBe('resnet18-mini');
    expect((await parseTrain(['--backbone', 'resnet51'])).err).toContain("unknown backbone 'resnet51'; known: resnet18, resnet34, resnet50, resnet18-mini, resnet10-mini");
    expect((await parseTrain(['--frozen-stages', '5'])).err).toContain('--frozen-stages must be an integer from -1 to 4');
  });

  it('bad weights arguments fail before anything is written', async () => {
    const out = scratch();
    await expect(runTraining(tinyOptions(data, out, { backboneWeights: '/nonexistent/r18.safetensors' }))).rejects.toThrow('--backbone-weights: /nonexistent/r18.safetensors not found');
    await expect(runTraining(tinyOptions(data, out, { backboneWeights: R18, loadFrom: R18 }))).rejects.toThrow('--backbone-weights and --load-from exclude each other');
    // resnet10-mini has one block per stage: the file's second blocks are unexpected, all named
    const wrong = runTraining(tinyOptions(data, out, { backbone: 'resnet10-mini', backboneWeights: R18 }));
    await expect(wrong).rejects.toBeInstanceOf(WeightsMismatchError);
    await expect(wrong).rejects.toThrow(/unexpected in the file \(40\): layer1\.1\.conv1\.weight, .*layer4\.1\.bn2\.running_var/);
    expect(existsSync(join(out, 'checkpoint.hpf'))).toBe(false);
  });
});

/** The model tensors of a run's checkpoint, by state-dict name. */
function checkpointModel(out: string): Map<string, Float32Array> {
  const file = readCheckpoint<CheckpointMeta>(join(out, 'checkpoint.hpf'));
  return new Map([...file.tensors].filter(([k]) => k.startsWith('model/')).map(([k, v]) => [k.slice('model/'.length), v.values]));
}

const bits = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer, a.byteOffset, a.length);

describe('--backbone-weights: frozen stages after 5 training steps', () => {
  it('stem and layer1 bit-identical to the file (weight decay 0.01 included), every BatchNorm statistic kept, the rest trained', async () => {
    // The file's values in our layout, from the library loader.
    const reference = createBackbone({ preset: 'resnet18-mini' });
    loadBackboneWeights(reference, R18);
    const pretrained = new Map(reference.stateDict().map(([n, v]) => [`backbone.${n}`, v.dataSync() as Float32Array]));
    reference.dispose();

    const runs: Record<string, Map<string, Float32Array>> = {};
    for (const [label, overrides] of [
      ['fine-tune', {}],
      ['nothing frozen', { frozenStages: -1, normEval: false }],
    ] as const) {
      const out = scratch();
      const lines: string[] = [];
      const before = tf.memory().numTensors;
      const result = await runTraining(tinyOptions(data, out, { steps: 5, weightDecay: 0.01, backbone: 'resnet18-mini', backboneWeights: R18, ...overrides }), { log: (l) => lines.push(l) });
      expect(tf.memory().numTensors).toBe(before);
      expect(result.history).toHaveLength(5);
      expect(lines.join('\n')).toContain(`backbone weights: 100 tensors from ${R18} (22 ignored`);
      runs[label] = checkpointModel(out);
      const { meta } = readCheckpoint<CheckpointMeta>(join(out, 'checkpoint.hpf'));
      // frozen parameters are not the optimizer's at all: no gradient, no momentum, no decay
      const optimized = meta.optimizer.variables.filter((n) => /^backbone\.(conv1|bn1|layer1)\./.test(n));
      if (label === 'fine-tune') expect(optimized).toEqual([]);
      else expect(optimized.length).toBeGreaterThan(0);
    }

    const frozen = [...pretrained.keys()].filter((n) => /^backbone\.(conv1|bn1|layer1)\./.test(n));
    const stats = [...pretrained.keys()].filter((n) => /running_(mean|var)$/.test(n));
    const trainable = [...pretrained.keys()].filter((n) => !frozen.includes(n) && !stats.includes(n));
    // stem conv + bn (4), layer1: 2 blocks x (2 convs + 2 bns x 4)
    expect(frozen).toHaveLength(5 + 2 * 10);
    const fineTuned = runs['fine-tune']!;
    for (const name of [...frozen, ...stats]) expect(bits(fineTuned.get(name)!), name).toEqual(bits(pretrained.get(name)!));
    // ... while the stages after layer1 and the BatchNorm affines there did train
    const changed = (run: Map<string, Float32Array>, name: string): boolean => !bits(run.get(name)!).every((b, i) => b === bits(pretrained.get(name)!)[i]);
    expect(trainable.filter((n) => !changed(fineTuned, n))).toEqual([]);
    // the control run moves the stem, layer1 and the statistics: the check above can fail
    const free = runs['nothing frozen']!;
    expect([...frozen, ...stats].filter((n) => !changed(free, n))).toEqual([]);
  });
});

describe('--load-from', () => {
  it('an hpf checkpoint (run folder) and a torch-layout .safetensors export both restore every tensor bit-exactly', async () => {
    const runA = scratch();
    await runTraining(tinyOptions(data, runA, { steps: 2 }));
    const saved = checkpointModel(runA);

    const options = tinyOptions(data, scratch(), { seed: 5, loadFrom: runA });
    // run A saw unnormalised images, and a run starting from it keeps that
    expect(backboneOption(options)).toEqual({ preset: 'resnet10-mini', frozenStages: 1, normEval: true });
    const fresh = await buildDetector('atss', detectorOptionsFor(options, 10, 64));
    const note = applyInitialWeights(fresh, options);
    expect(note).toBe(`detector weights: ${saved.size} tensors from the checkpoint ${join(runA, 'checkpoint.hpf')}`);
    for (const [name, v] of fresh.model.stateDict()) expect(bits(v.dataSync() as Float32Array), name).toEqual(bits(saved.get(name)!));

    const exported = join(scratch(), 'atss.safetensors');
    await saveTorchState(fresh.model, exported, { detector: 'atss' });
    fresh.dispose();
    // a .safetensors detector is taken as ImageNet-normalised (pretrained), unless --input-norm none
    expect(backboneOption({ ...options, loadFrom: exported })).toMatchObject({ inputNorm: 'imagenet' });
    const again = await buildDetector('atss', detectorOptionsFor(options, 10, 64));
    expect(applyInitialWeights(again, { ...options, loadFrom: exported })).toBe(`detector weights: ${saved.size} tensors from ${exported}`);
    for (const [name, v] of again.model.stateDict()) expect(bits(v.dataSync() as Float32Array), name).toEqual(bits(saved.get(name)!));
    again.dispose();

    // through hpf train: the run starts from it (logged), and a model of another shape is refused by name
    const lines: string[] = [];
    await runTraining(tinyOptions(data, scratch(), { steps: 2, loadFrom: exported }), { log: (l) => lines.push(l) });
    expect(lines).toContain(`detector weights: ${saved.size} tensors from ${exported}`);
    const out = scratch();
    const wider = runTraining(tinyOptions(data, out, { steps: 2, neckChannels: 16, loadFrom: join(runA, 'checkpoint.hpf') }));
    await expect(wider).rejects.toThrow(/wrong shape \(\d+\): model\/neck\.lateral_convs\.0\.conv\.weight is \[1, 1, 32, 32\] in the file, \[1, 1, 32, 16\] in the model/);
    expect(existsSync(join(out, 'checkpoint.hpf'))).toBe(false);
  });
});
