import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { createBackbone, createFpn, loadStateDict, saveWeights as saveToHandler, type AnyModule } from '../src/index.js';
import { fileIOHandler, loadWeights, saveWeights } from '../src/node.js';

const root = mkdtempSync(join(tmpdir(), 'hpf-nn-io-'));
let counter = 0;
const freshDir = () => join(root, `case${counter++}`);

beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Every state entry's raw float32 bytes, by name. */
function snapshot(module: AnyModule): Map<string, number[]> {
  return new Map(module.stateDict().map(([name, v]) => [name, Array.from(new Uint32Array((v.dataSync() as Float32Array).buffer))]));
}

function makeModel(seed: number) {
  return createBackbone({ preset: 'resnet10-mini', seed });
}

async function trainedLookingModel(seed: number) {
  const model = makeModel(seed);
  // Non-default running stats so buffers are part of the round trip.
  for (const [name, v] of model.namedBuffers()) v.assign(tf.randomUniform(v.shape, 0.1, 2, 'float32', name.length + seed));
  return model;
}

describe('saveWeights / loadWeights round trip', () => {
  it("the main entry's saveWeights takes no directory path: it names '@hpf/nn/node'", async () => {
    const a = makeModel(1);
    await expect(saveToHandler(a, 'weights' as never)).rejects.toThrow(/saveWeights: a directory path \('weights'\) needs the file system: import saveWeights from '@hpf\/nn\/node'/);
    a.dispose();
  });

  it('is bit-exact for parameters and buffers, across several shards', async () => {
    const dir = freshDir();
    const a = await trainedLookingModel(1);
    const b = makeModel(2);
    await saveWeights(a, dir, { shardBytes: 64 * 1024 });
    const manifest = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    const paths: string[] = manifest.weightsManifest[0].paths;
    expect(paths.length).toBeGreaterThan(2);
    expect(manifest.weightsManifest[0].weights.map((w: { name: string }) => w.name)).toEqual(a.stateDict().map(([n]) => n));
    // No temp files are left behind; every shard but the last has exactly shardBytes.
    expect(readdirSync(dir).sort()).toEqual(['model.json', ...paths].sort());
    expect(paths.slice(0, -1).every((p) => statSync(join(dir, p)).size === 64 * 1024)).toBe(true);
    expect(snapshot(b)).not.toEqual(snapshot(a));
    const report = await loadWeights(b, dir);
    expect(report).toEqual({ loaded: a.stateDict().map(([n]) => n), missing: [], unexpected: [] });
    expect(snapshot(b)).toEqual(snapshot(a));
    a.dispose();
    b.dispose();
  });

  it('does not leak tensors', async () => {
    const dir = freshDir();
    const a = makeModel(1);
    const start = tf.memory().numTensors;
    for (let i = 0; i < 2; i++) {
      await saveWeights(a, dir);
      await loadWeights(a, dir);
    }
    expect(tf.memory().numTensors).toBe(start);
    a.dispose();
  });

  it('a re-save replaces model.json atomically and removes the old shards', async () => {
    const dir = freshDir();
    const a = makeModel(1);
    await saveWeights(a, dir, { shardBytes: 64 * 1024, metadata: { step: 1 } });
    const first = readdirSync(dir);
    const b = makeModel(3);
    await saveWeights(b, dir, { shardBytes: 64 * 1024, metadata: { step: 2 } });
    const second = readdirSync(dir);
    // Content-hashed shard names: a save never overwrites the shards the old model.json points to.
    expect(second.filter((f) => f !== 'model.json' && first.includes(f))).toEqual([]);
    expect(second.length).toBe(first.length);
    expect(JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')).userDefinedMetadata).toEqual({ step: 2 });
    await loadWeights(a, dir);
    expect(snapshot(a)).toEqual(snapshot(b));
    a.dispose();
    b.dispose();
  });

  it('works through the plain tf.io.IOHandler interface', async () => {
    const dir = freshDir();
    const handler = fileIOHandler(dir);
    const a = await trainedLookingModel(4);
    const b = makeModel(5);
    const result = await saveWeights(a, handler);
    expect(result.modelArtifactsInfo.weightDataBytes).toBe(4 * a.stateDict().reduce((s, [, v]) => s + v.size, 0));
    const artifacts = await handler.load!();
    expect(artifacts.weightSpecs?.length).toBe(a.stateDict().length);
    await loadWeights(b, handler);
    expect(snapshot(b)).toEqual(snapshot(a));
    a.dispose();
    b.dispose();
  });
});

describe('load errors', () => {
  it('a parameter of the wrong shape is an error naming it, and nothing is assigned', async () => {
    const dir = freshDir();
    const small = createFpn({ inChannels: [32, 64, 128], outChannels: 8, seed: 1 });
    const wide = createFpn({ inChannels: [32, 64, 128], outChannels: 16, seed: 2 });
    await saveWeights(small, dir);
    const before = snapshot(wide);
    await expect(loadWeights(wide, dir)).rejects.toThrow(/parameter 'lateral_convs\.0\.conv\.weight' has shape \[1, 1, 32, 16\] but the weights have \[1, 1, 32, 8\]/);
    expect(snapshot(wide)).toEqual(before);
    small.dispose();
    wide.dispose();
  });

  it('a truncated last shard is an error naming the file', async () => {
    const dir = freshDir();
    const a = makeModel(1);
    await saveWeights(a, dir, { shardBytes: 64 * 1024 });
    const paths: string[] = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')).weightsManifest[0].paths;
    const last = paths[paths.length - 1]!;
    truncateSync(join(dir, last), statSync(join(dir, last)).size - 3);
    await expect(loadWeights(a, dir)).rejects.toThrow(new RegExp(`weights shard '.*${last.replace(/\./g, '\\.')}' is truncated`));
    a.dispose();
  });

  it('a truncated middle shard is an error naming that file, not the last', async () => {
    const dir = freshDir();
    const a = makeModel(1);
    await saveWeights(a, dir, { shardBytes: 64 * 1024 });
    const paths: string[] = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')).weightsManifest[0].paths;
    truncateSync(join(dir, paths[1]!), 1000);
    await expect(loadWeights(a, dir)).rejects.toThrow(new RegExp(`'.*${paths[1]!.replace(/\./g, '\\.')}' is truncated`));
    a.dispose();
  });

  it('a missing shard or model.json is an error naming the file', async () => {
    const dir = freshDir();
    const a = makeModel(1);
    await saveWeights(a, dir);
    const paths: string[] = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')).weightsManifest[0].paths;
    unlinkSync(join(dir, paths[0]!));
    await expect(loadWeights(a, dir)).rejects.toThrow(new RegExp(`weights shard '.*${paths[0]!.replace(/\./g, '\\.')}' .* is missing`));
    await expect(loadWeights(a, freshDir())).rejects.toThrow(/cannot read weights manifest '.*model\.json'/);
    writeFileSync(join(dir, 'model.json'), '{"weightsManifest": [');
    await expect(loadWeights(a, dir)).rejects.toThrow(/model\.json' is not valid JSON/);
    a.dispose();
  });

  it('unknown or missing names are errors unless strict: false, which reports them', async () => {
    const dir = freshDir();
    const full = createFpn({ inChannels: [32, 64, 128], outChannels: 8, maxLevel: 7, seed: 1 });
    const short = createFpn({ inChannels: [32, 64, 128], outChannels: 8, maxLevel: 6, seed: 2 });
    await saveWeights(full, dir);
    await expect(loadWeights(short, dir)).rejects.toThrow(/unexpected 'fpn_convs\.4\.conv\.weight', 'fpn_convs\.4\.conv\.bias'.*strict: false/);
    const report = await loadWeights(short, dir, { strict: false });
    expect(report.unexpected).toEqual(['fpn_convs.4.conv.weight', 'fpn_convs.4.conv.bias']);
    expect(report.missing).toEqual([]);
    expect(report.loaded).toHaveLength(short.stateDict().length);
    const shortDir = freshDir();
    await saveWeights(short, shortDir);
    await expect(loadWeights(full, shortDir)).rejects.toThrow(/missing 'fpn_convs\.4\.conv\.weight'/);
    const partial = await loadWeights(full, shortDir, { strict: false });
    expect(partial.missing).toEqual(['fpn_convs.4.conv.weight', 'fpn_convs.4.conv.bias']);
    full.dispose();
    short.dispose();
  });

  it('loadStateDict validates dtype and unknown options', () => {
    const fpn = createFpn({ inChannels: [4, 4, 4], outChannels: 4, maxLevel: 5 });
    const t = tf.zeros([1, 1, 4, 4], 'int32');
    expect(() => loadStateDict(fpn, { 'lateral_convs.0.conv.weight': t }, { strict: false })).toThrow(/'lateral_convs\.0\.conv\.weight' has dtype float32 but the weights have int32/);
    expect(() => loadStateDict(fpn, {}, { strcit: false } as never)).toThrow(/unknown option 'strcit'/);
    t.dispose();
    fpn.dispose();
  });
});
