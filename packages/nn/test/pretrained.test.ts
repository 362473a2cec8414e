// Pretrained weights: the safetensors reader/writer, torchvision state dicts loaded into our
// ResNets (forward equal to torchvision's), the mismatch errors and the torch-layout round trip.
// Fixtures: fixtures/pretrained/gen_pretrained.py (narrow torchvision ResNets, see its docstring)
// and fixtures/model/gen_torchvision_resnet.py (full-width names and shapes).
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import {
  BatchNorm2d,
  createBackbone,
  encodeSafetensors,
  IMAGENET_INPUT_NORM,
  parseSafetensors,
  tensorValues,
  WeightsMismatchError,
  type BackbonePreset,
  type Float32TensorData,
  type ResNet,
  type SafetensorsFile,
} from '../src/index.js';
import { loadBackboneWeights, loadModelWeights, readSafetensors, saveTorchState } from '../src/node.js';

const fixture = (name: string): string => new URL(`./fixtures/pretrained/${name}`, import.meta.url).pathname;

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** The float tensors of a parsed file, for re-encoding variants of it. */
function floatTensors(file: SafetensorsFile, rename: (name: string) => string = (n) => n): Array<[string, Float32TensorData]> {
  return [...file.tensors]
    .filter(([, e]) => e.dtype === 'F32')
    .map(([name, e]) => [rename(name), { shape: e.shape, values: tensorValues(file, name) }]);
}

async function values(t: tf.Tensor): Promise<Float32Array> {
  return (await t.data()) as Float32Array;
}

describe('safetensors format', () => {
  it('reads torch state dicts written by the reference layout (F32 weights, I64 counters, metadata)', () => {
    const file = readSafetensors(fixture('resnet18-w16.safetensors'));
    expect(file.metadata.format).toBe('pt');
    expect(file.tensors.size).toBe(122);
    const counter = file.tensors.get('bn1.num_batches_tracked')!;
    expect(counter).toMatchObject({ dtype: 'I64', shape: [] });
    expect(() => tensorValues(file, 'bn1.num_batches_tracked')).toThrow(/'bn1\.num_batches_tracked' is I64/);
    expect(file.tensors.get('conv1.weight')).toMatchObject({ dtype: 'F32', shape: [16, 3, 7, 7] });
  });

  it('widens F16, BF16 and F64 to float32 exactly', () => {
    // float16: 1, -2, 65504 (max), 2^-24 (smallest subnormal), 2^-14 (smallest normal), -0
    const half = new Uint16Array([0x3c00, 0xc000, 0x7bff, 0x0001, 0x0400, 0x8000]);
    // bfloat16: 1, -3.5, 2^-126 (smallest normal)
    const bf16 = new Uint16Array([0x3f80, 0xc060, 0x0080]);
    const f64 = new Float64Array([0.1, -1e30]);
    const header = JSON.stringify({
      h: { dtype: 'F16', shape: [6], data_offsets: [0, 12] },
      b: { dtype: 'BF16', shape: [3], data_offsets: [12, 18] },
      d: { dtype: 'F64', shape: [2], data_offsets: [18, 34] },
    });
    const headerBytes = new TextEncoder().encode(header);
    const bytes = new Uint8Array(8 + headerBytes.length + 34);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
    bytes.set(headerBytes, 8);
    const data = 8 + headerBytes.length;
    bytes.set(new Uint8Array(half.buffer), data);
    bytes.set(new Uint8Array(bf16.buffer), data + 12);
    bytes.set(new Uint8Array(f64.buffer), data + 18);
    const file = parseSafetensors(bytes, 'mixed');
    expect([...tensorValues(file, 'h')]).toEqual([1, -2, 65504, 2 ** -24, 2 ** -14, -0]);
    expect([...tensorValues(file, 'b')]).toEqual([1, -3.5, 2 ** -126]);
    expect([...tensorValues(file, 'd')]).toEqual([Math.fround(0.1), Math.fround(-1e30)]);
  });

  it('encode -> parse is bit-exact, header padded to 8 bytes', () => {
    const a = new Float32Array([1.5, -0, 3.4028234663852886e38, 1e-45, Math.PI, -7]);
    const bytes = encodeSafetensors([['a', { shape: [2, 3], values: a }], ['s', { shape: [], values: new Float32Array([42]) }]], { k: 'v' });
    expect(Number(new DataView(bytes.buffer).getBigUint64(0, true)) % 8).toBe(0);
    const file = parseSafetensors(bytes);
    expect(file.metadata).toEqual({ k: 'v' });
    expect(file.tensors.get('a')!.shape).toEqual([2, 3]);
    expect(new Uint32Array(tensorValues(file, 'a').buffer)).toEqual(new Uint32Array(a.buffer));
    expect([...tensorValues(file, 's')]).toEqual([42]);
  });

  it('rejects a malformed file with an error naming the file and the tensor', () => {
    const good = encodeSafetensors([
      ['x', { shape: [2], values: new Float32Array([1, 2]) }],
      ['y', { shape: [1], values: new Float32Array([3]) }],
    ]);
    expect(() => parseSafetensors(good.subarray(0, good.length - 2), 'cut.safetensors')).toThrow(/cut\.safetensors: .*tensor 'y' ends at byte 12 of the data, which has 10/);
    expect(() => parseSafetensors(good.subarray(0, 5), 'tiny')).toThrow(/tiny: .*5 bytes/);
    const withHeader = (header: object, dataBytes: number): Uint8Array => {
      const h = new TextEncoder().encode(JSON.stringify(header));
      const out = new Uint8Array(8 + h.length + dataBytes);
      new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
      out.set(h, 8);
      return out;
    };
    expect(() => parseSafetensors(withHeader({ x: { dtype: 'F33', shape: [1], data_offsets: [0, 4] } }, 4), 'f')).toThrow(/tensor 'x' has unknown dtype "F33"/);
    expect(() => parseSafetensors(withHeader({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, 4), 'f')).toThrow(/tensor 'x' \(F32 \[2\]\) needs 8 bytes/);
    expect(() => parseSafetensors(withHeader({ x: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, 8), 'f')).toThrow(/tensor 'x' starts at byte 4 of the data, expected 0 \(a hole\)/);
    expect(() => parseSafetensors(withHeader({ x: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, 8), 'f')).toThrow(/cover 4 bytes of data, the file has 8/);
    const huge = new Uint8Array(16);
    new DataView(huge.buffer).setBigUint64(0, 2n ** 40n, true);
    expect(() => parseSafetensors(huge, 'huge')).toThrow(/huge: .*header length 1099511627776 does not fit/);
    expect(() => readSafetensors('/nonexistent/w.safetensors')).toThrow(/cannot read weights file '\/nonexistent\/w\.safetensors'/);
  });
});

interface FixtureNet {
  file: string;
  preset: BackbonePreset;
  widthMultiplier: number;
  tensors: number;
}
const NETS: FixtureNet[] = [
  { file: 'resnet18-w16', preset: 'resnet18', widthMultiplier: 0.25, tensors: 122 },
  { file: 'resnet50-w8', preset: 'resnet50', widthMultiplier: 0.125, tensors: 320 },
];

describe('torchvision weights in our ResNet: forward equals torchvision (float64 reference)', () => {
  for (const net of NETS) {
    it(`${net.file}: C3, C4, C5 in eval and train mode within 1e-4 of the largest output`, async () => {
      const backbone = createBackbone({ preset: net.preset, widthMultiplier: net.widthMultiplier, seed: 7 });
      const report = loadBackboneWeights(backbone, fixture(`${net.file}.safetensors`));
      expect(report.prefix).toBe('');
      const norms = backbone.namedModules().filter(([, m]) => m instanceof BatchNorm2d).map(([n]) => n);
      expect(report.ignored.sort()).toEqual(['fc.bias', 'fc.weight', ...norms.map((n) => `${n}.num_batches_tracked`)].sort());
      expect(report.loaded.length + norms.length + 2).toBe(net.tensors);

      const io = readSafetensors(fixture(`${net.file}.io.safetensors`));
      const input = tf.tensor4d(tensorValues(io, 'input'), io.tensors.get('input')!.shape as [number, number, number, number]);
      const counts: number[] = [];
      // Twice: train mode moves the running statistics, so the second round reloads the file
      // (which must also refresh the eval-mode conv+BN folding) and must allocate nothing new.
      for (let round = 0; round < 2; round++) {
        if (round > 0) loadBackboneWeights(backbone, fixture(`${net.file}.safetensors`));
        for (const mode of ['eval', 'train'] as const) {
          backbone.train(mode === 'train');
          const outs = backbone.forward(input);
          for (const [i, level] of (['c3', 'c4', 'c5'] as const).entries()) {
            const key = `${mode}.${level}`;
            expect(outs[i]!.shape).toEqual(io.tensors.get(key)!.shape);
            const ours = await values(outs[i]!);
            const ref = tensorValues(io, key);
            let worst = 0;
            let scale = 0;
            for (let k = 0; k < ref.length; k++) {
              worst = Math.max(worst, Math.abs(ours[k]! - ref[k]!));
              scale = Math.max(scale, Math.abs(ref[k]!));
            }
            // Relative to the largest output: float32 itself is ~1e-5 off here (torch's float32
            // forward is the fixture's torchF32RelError, up to 9e-5 on the 50-layer net).
            const torchF32 = Number(io.metadata[`torchF32RelError.${key}`]);
            expect(worst / scale, `${key}: max |ours - torchvision| / max |torchvision| (torch float32: ${torchF32})`).toBeLessThan(1e-4);
            // and as close as torch's own float32 forward gets (measured: within 1.3x)
            expect(worst / scale, key).toBeLessThan(2 * torchF32 + 1e-6);
          }
          tf.dispose(outs);
        }
        counts.push(tf.memory().numTensors);
      }
      expect(counts[1]).toBe(counts[0]);
      input.dispose();
      backbone.dispose();
    });
  }
});

describe('inputNorm: the ImageNet normalisation inside the model', () => {
  it("'imagenet' on 0..1 images gives what torchvision gives on the normalised images; bad values are named", async () => {
    const backbone = createBackbone({ preset: 'resnet18', widthMultiplier: 0.25, inputNorm: 'imagenet' });
    expect(backbone.config.inputNorm).toEqual({ mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
    loadBackboneWeights(backbone, fixture('resnet18-w16.safetensors'));
    backbone.eval();
    const io = readSafetensors(fixture('resnet18-w16.io.safetensors'));
    const normalised = tensorValues(io, 'input');
    // the 0..1 image whose ImageNet normalisation is the fixture's input
    const unit = normalised.map((v, i) => v * IMAGENET_INPUT_NORM.std[i % 3]! + IMAGENET_INPUT_NORM.mean[i % 3]!);
    const input = tf.tensor4d(unit, io.tensors.get('input')!.shape as [number, number, number, number]);
    const outs = backbone.forward(input);
    const ours = await values(outs[2]);
    const ref = tensorValues(io, 'eval.c5');
    const scale = ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    expect(ref.reduce((m, v, k) => Math.max(m, Math.abs(v - ours[k]!)), 0) / scale).toBeLessThan(1e-4);
    tf.dispose([input, ...outs]);
    backbone.dispose();
    expect(() => createBackbone({ preset: 'resnet18', inputNorm: { mean: [0.5, 0.5], std: [1, 1, 1] } })).toThrow(
      "createBackbone: option 'inputNorm' must be 'imagenet', null or { mean, std } with 3 finite values each (std > 0)",
    );
    expect(() => createBackbone({ preset: 'resnet18', inputNorm: { mean: [0, 0, 0], std: [1, 0, 1] } })).toThrow(/option 'inputNorm'/);
  });
});

describe('full-width torchvision state dicts (names and shapes of torchvision 0.14, synthetic values)', () => {
  const torchvision = JSON.parse(readFileSync(new URL('./fixtures/model/torchvision_resnet.json', import.meta.url), 'utf8')) as Record<
    string,
    { parameters: Array<[string, number[]]>; buffers: Array<[string, number[]]> }
  >;
  for (const preset of ['resnet18', 'resnet34', 'resnet50'] as const) {
    it(`${preset}: torch.save(resnet.state_dict()) as safetensors loads (fc and num_batches_tracked ignored), conv weights transposed`, { timeout: 120_000 }, async () => {
      const spec = torchvision[preset]!;
      // state_dict order, as torchvision writes it; num_batches_tracked stored as F32 here is still ignored
      const entries: Array<[string, Float32TensorData]> = [...spec.parameters, ...spec.buffers].map(([name, shape], t) => {
        const size = shape.reduce((a, b) => a * b, 1);
        const v = new Float32Array(size);
        for (let i = 0; i < size; i++) v[i] = ((i * 7 + t * 13) % 101) / 101 - 0.5;
        if (name.endsWith('running_var')) v.fill(1.25);
        return [name, { shape, values: v }];
      });
      const file = parseSafetensors(encodeSafetensors(entries), `${preset}.safetensors`);
      const backbone = createBackbone({ preset, seed: 1 });
      const report = loadBackboneWeights(backbone, file);
      expect(report.loaded).toHaveLength(backbone.stateDict().length);
      expect(report.ignored).toContain('fc.weight');
      // conv1.weight: torch [64, 3, 7, 7] (OIHW) -> ours [7, 7, 3, 64] (HWIO): ours[y][x][i][o] = torch[o][i][y][x]
      const torchConv = entries.find(([n]) => n === 'conv1.weight')![1].values;
      const ours = await values(new Map(backbone.stateDict()).get('conv1.weight')!);
      for (const [o, i, y, x] of [[0, 0, 0, 0], [5, 2, 6, 1], [63, 1, 3, 6]] as const) {
        expect(ours[((y * 7 + x) * 3 + i) * 64 + o]).toBe(torchConv[((o * 3 + i) * 7 + y) * 7 + x]);
      }
      backbone.dispose();
    });
  }
});

describe('a file that does not fit: one error naming every tensor, nothing assigned', () => {
  const r18 = (): SafetensorsFile => readSafetensors(fixture('resnet18-w16.safetensors'));

  it('resnet18 weights into a resnet50 backbone: lists every missing / unexpected / mis-shaped name and says what the file is', async () => {
    const backbone = createBackbone({ preset: 'resnet50', widthMultiplier: 0.125 });
    const conv1 = await values(new Map(backbone.stateDict()).get('conv1.weight')!);
    let error: WeightsMismatchError | undefined;
    try {
      loadBackboneWeights(backbone, r18());
    } catch (e) {
      error = e as WeightsMismatchError;
    }
    expect(error).toBeInstanceOf(WeightsMismatchError);
    const ours = new Set(backbone.stateDict().map(([n]) => n));
    const theirs = new Set([...r18().tensors.keys()].filter((n) => !n.endsWith('num_batches_tracked') && !n.startsWith('fc.')));
    expect(error!.missing.sort()).toEqual([...ours].filter((n) => !theirs.has(n)).sort());
    expect(error!.unexpected.sort()).toEqual([...theirs].filter((n) => !ours.has(n)).sort());
    expect(error!.missing).toContain('layer1.0.conv3.weight');
    expect(error!.misshaped).toContainEqual({ name: 'layer1.0.conv1.weight', expected: [8, 8, 1, 1], found: [16, 16, 3, 3] });
    expect(error!.message).toContain('resnet18-w16.safetensors: the weights do not fit the backbone (bottleneck blocks [3, 4, 6, 3], width 64 x 0.125)');
    expect(error!.message).toContain('the file holds a ResNet with BasicBlocks [2, 2, 2, 2] (resnet18), stem width 16');
    for (const name of [...error!.missing, ...error!.unexpected]) expect(error!.message).toContain(name);
    expect(error!.message).toContain('layer1.0.conv1.weight is [16, 16, 3, 3] in the file, [8, 8, 1, 1] in the model');
    // conv1 had the same shape in both and was still not assigned
    expect(await values(new Map(backbone.stateDict()).get('conv1.weight')!)).toEqual(conv1);
    backbone.dispose();
  });

  it('a non-finite weight is named and nothing is assigned; a file without a ResNet stem is refused', async () => {
    const tensors = floatTensors(r18());
    tensors.find(([n]) => n === 'layer3.1.bn2.running_var')![1].values[5] = Number.NaN;
    const backbone = createBackbone({ preset: 'resnet18', widthMultiplier: 0.25 });
    const before = await values(new Map(backbone.stateDict()).get('conv1.weight')!);
    expect(() => loadBackboneWeights(backbone, parseSafetensors(encodeSafetensors(tensors), 'nan.safetensors'))).toThrow(
      "nan.safetensors: tensor 'layer3.1.bn2.running_var' holds NaN at index 5; weights must be finite",
    );
    expect(await values(new Map(backbone.stateDict()).get('conv1.weight')!)).toEqual(before);
    const neckOnly = encodeSafetensors([['neck.fpn_convs.0.conv.weight', { shape: [1], values: new Float32Array(1) }]]);
    expect(() => loadBackboneWeights(backbone, parseSafetensors(neckOnly, 'neck.safetensors'))).toThrow(
      /neck\.safetensors: no ResNet stem 'conv1\.weight' under any of the prefixes '', 'backbone\.'.*starts with 'neck\.fpn_convs\.0\.conv\.weight'/,
    );
    backbone.dispose();
  });

  it('finds the backbone of a whole model under backbone. / module. and ignores the rest of it', () => {
    const backbone = createBackbone({ preset: 'resnet18', widthMultiplier: 0.25 });
    for (const prefix of ['backbone.', 'module.backbone.']) {
      const tensors = [
        ...floatTensors(r18(), (n) => prefix + n),
        [`${prefix.replace('backbone.', '')}neck.lateral_convs.0.conv.weight`, { shape: [1, 1, 1, 1], values: new Float32Array(1) }] as [string, Float32TensorData],
      ];
      const report = loadBackboneWeights(backbone, parseSafetensors(encodeSafetensors(tensors), 'detector.safetensors'));
      expect(report.prefix).toBe(prefix);
      expect(report.ignored).toContain(`${prefix.replace('backbone.', '')}neck.lateral_convs.0.conv.weight`);
    }
    backbone.dispose();
  });
});

describe('saveTorchState -> loadModelWeights', () => {
  it('round-trips every parameter and buffer bit-exactly, conv weights stored OIHW', async () => {
    const a = createBackbone({ preset: 'resnet18', widthMultiplier: 0.25, seed: 3 });
    loadBackboneWeights(a, fixture('resnet18-w16.safetensors'));
    const path = join(mkdtempSync(join(tmpdir(), 'hpf-torch-state-')), 'backbone.safetensors');
    await saveTorchState(a, path, { note: 'test' });
    const file = readSafetensors(path);
    expect(file.metadata.note).toBe('test');
    expect(file.tensors.get('layer2.0.conv1.weight')!.shape).toEqual([32, 16, 3, 3]);
    // what we wrote is what torchvision had
    const original = readSafetensors(fixture('resnet18-w16.safetensors'));
    for (const name of ['layer2.0.conv1.weight', 'layer4.1.bn2.running_var', 'conv1.weight']) {
      expect(new Uint32Array(tensorValues(file, name).buffer), name).toEqual(new Uint32Array(tensorValues(original, name).buffer));
    }
    const b: ResNet = createBackbone({ preset: 'resnet18', widthMultiplier: 0.25, seed: 4 });
    const report = loadModelWeights(b, path, 'the copy');
    expect(report.loaded).toHaveLength(a.stateDict().length);
    const bState = new Map(b.stateDict());
    for (const [name, v] of a.stateDict()) {
      expect(new Uint32Array((await values(bState.get(name)!)).buffer), name).toEqual(new Uint32Array((await values(v)).buffer));
    }
    // a whole-model load is exact: a name the model lacks is an error
    const extra = parseSafetensors(encodeSafetensors([...floatTensors(file), ['head.x', { shape: [1], values: new Float32Array(1) }]]), 'extra.safetensors');
    expect(() => loadModelWeights(b, extra, 'the copy')).toThrow(/extra\.safetensors: the weights do not fit the copy .*\n {2}unexpected in the file \(1\): head\.x/);
    a.dispose();
    b.dispose();
  });
});
