/**
 * Loading and saving a module's state in torch's layout, the way pretrained weights are published:
 * names are the module's `stateDict()` names (torchvision's and mmdetection's), conv weights are
 * OIHW (ours are HWIO: every rank-4 tensor is transposed on the way in and out).
 *
 * A load checks everything (names, shapes, dtypes, finiteness) before it assigns anything, and a
 * mismatch is one error listing every missing, unexpected and mis-shaped tensor.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { AnyModule } from '../layers/module.js';
import { checkOptionKeys } from '../layers/options.js';
import { encodeSafetensors, tensorValues, type Float32TensorData, type SafetensorsFile } from './safetensors.js';

/** HWIO [kh, kw, in, out] -> OIHW [out, in, kh, kw]; other ranks unchanged. */
export function torchShape(shape: readonly number[]): number[] {
  return shape.length === 4 ? [shape[3]!, shape[2]!, shape[0]!, shape[1]!] : [...shape];
}

/** Reorders values of a rank-4 tensor between OIHW (`toTorch`) and HWIO (`!toTorch`). */
function transposeConv(values: Float32Array, ourShape: readonly number[], toTorch: boolean): Float32Array {
  const [kh, kw, ci, co] = ourShape as [number, number, number, number];
  const out = new Float32Array(values.length);
  for (let o = 0; o < co; o++) {
    for (let i = 0; i < ci; i++) {
      for (let y = 0; y < kh; y++) {
        for (let x = 0; x < kw; x++) {
          const hwio = ((y * kw + x) * ci + i) * co + o;
          const oihw = ((o * ci + i) * kh + y) * kw + x;
          if (toTorch) out[oihw] = values[hwio]!;
          else out[hwio] = values[oihw]!;
        }
      }
    }
  }
  return out;
}

/**
 * Named tensors to load from: a safetensors file (`safetensorsSource`, torch layout) or anything
 * else that can list shapes and read float32 values (e.g. a training checkpoint, our layout).
 */
export interface TensorSource {
  /** For messages: usually the file path. */
  source: string;
  /** 'torch': rank-4 tensors are OIHW (published weights); 'hwio': as our modules hold them. */
  layout: 'torch' | 'hwio';
  shapes: ReadonlyMap<string, readonly number[]>;
  /** float32 values in `layout`; throws naming the tensor when it is not a float tensor. */
  read(name: string): Float32Array;
}

/** A parsed safetensors file as a torch-layout `TensorSource`. */
export function safetensorsSource(file: SafetensorsFile): TensorSource {
  return {
    source: file.source,
    layout: 'torch',
    shapes: new Map([...file.tensors].map(([name, entry]) => [name, entry.shape])),
    read: (name) => tensorValues(file, name),
  };
}

export interface TorchLoadOptions {
  /** Prepended to each module name to find it in the source (e.g. 'backbone.'). Default ''. */
  prefix?: string;
  /** Source names that may stay unused without an error (classifier, num_batches_tracked, other parts). */
  ignore?: (name: string) => boolean;
  /** What is being loaded, for messages (e.g. 'the resnet50 backbone'). */
  target?: string;
  /** Appended to a mismatch error (e.g. what the file looks like), given the source's names and shapes. */
  hint?: (shapes: ReadonlyMap<string, readonly number[]>) => string | undefined;
}

export interface TorchLoadReport {
  /** Module names assigned. */
  loaded: string[];
  /** Source names left unused because `ignore` allowed it. */
  ignored: string[];
}

export interface MisshapedTensor {
  name: string;
  /** In the source's layout (torch: OIHW for convs). */
  expected: number[];
  found: number[];
}

/** A source whose tensors do not fit the module; every list is complete. */
export class WeightsMismatchError extends Error {
  override readonly name = 'WeightsMismatchError';
  constructor(
    message: string,
    readonly missing: string[],
    readonly unexpected: string[],
    readonly misshaped: MisshapedTensor[],
  ) {
    super(message);
  }
}

/**
 * Assigns named tensors to the module's parameters and buffers by name (`prefix` + state-dict
 * name). Throws `WeightsMismatchError` naming every missing, unexpected (not ignored) and
 * mis-shaped tensor, or an error naming a non-float or non-finite one; the module is unchanged
 * unless the whole source fits.
 */
export function loadTensors(module: AnyModule, source: TensorSource, options: TorchLoadOptions = {}): TorchLoadReport {
  checkOptionKeys('loadTensors', options, ['prefix', 'ignore', 'target', 'hint']);
  const prefix = options.prefix ?? '';
  const ignore = options.ignore ?? (() => false);
  const target = options.target ?? 'the model';
  const torch = source.layout === 'torch';
  const state = module.stateDict();
  const used = new Set<string>();
  const missing: string[] = [];
  const misshaped: MisshapedTensor[] = [];
  for (const [name, variable] of state) {
    const key = prefix + name;
    const found = source.shapes.get(key);
    if (found === undefined) {
      missing.push(key);
      continue;
    }
    used.add(key);
    const expected = torch ? torchShape(variable.shape) : [...variable.shape];
    if (!tf.util.arraysEqual(expected, [...found])) misshaped.push({ name: key, expected, found: [...found] });
  }
  const unexpected: string[] = [];
  const ignored: string[] = [];
  for (const key of source.shapes.keys()) {
    if (used.has(key)) continue;
    if (ignore(key)) ignored.push(key);
    else unexpected.push(key);
  }
  if (missing.length > 0 || unexpected.length > 0 || misshaped.length > 0) {
    const lines = [`${source.source}: the weights do not fit ${target} (${used.size - misshaped.length} of ${state.length} tensors match):`];
    if (missing.length > 0) lines.push(`  missing from the file (${missing.length}): ${missing.join(', ')}`);
    if (unexpected.length > 0) lines.push(`  unexpected in the file (${unexpected.length}): ${unexpected.join(', ')}`);
    if (misshaped.length > 0) {
      const shapes = misshaped.map((m) => `${m.name} is [${m.found.join(', ')}] in the file, [${m.expected.join(', ')}] in the model`);
      lines.push(`  wrong shape (${misshaped.length}${torch ? ', torch layout' : ''}): ${shapes.join('; ')}`);
    }
    const hint = options.hint?.(source.shapes);
    if (hint !== undefined) lines.push(`  ${hint}`);
    throw new WeightsMismatchError(lines.join('\n'), missing, unexpected, misshaped);
  }
  // Decode and check every value before the first assignment, so a bad file changes nothing.
  const values = state.map(([name, variable]) => {
    const key = prefix + name;
    const raw = source.read(key);
    const bad = raw.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new Error(`${source.source}: tensor '${key}' holds ${raw[bad]} at index ${bad}; weights must be finite`);
    return torch && variable.shape.length === 4 ? transposeConv(raw, variable.shape, false) : raw;
  });
  state.forEach(([, variable], i) => tf.tidy(() => variable.assign(tf.tensor(values[i]!, variable.shape, 'float32'))));
  return { loaded: state.map(([name]) => name), ignored };
}

/** `num_batches_tracked`: torch's BatchNorm counter, which ours does not keep (momentum is always set). */
export function isBatchCounter(name: string): boolean {
  return name.endsWith('.num_batches_tracked') || name === 'num_batches_tracked';
}

function sourceOf(source: SafetensorsFile | TensorSource): TensorSource {
  return 'layout' in source ? source : safetensorsSource(source);
}

/**
 * Loads a whole model (a detector, a backbone, ...) from a parsed safetensors file in torch layout
 * (`@hpf/nn/node` also takes a path) or any `TensorSource`, whose names are the module's own, as
 * `saveTorchState` writes them. Only torch's `num_batches_tracked` counters may be extra.
 */
export function loadModelWeights(module: AnyModule, source: SafetensorsFile | TensorSource, target = 'the model'): TorchLoadReport {
  return loadTensors(module, sourceOf(source), { ignore: isBatchCounter, target });
}

/**
 * Saves every parameter and buffer of `module` as float32 safetensors in torch layout (conv
 * weights OIHW), readable by `safetensors.torch.load_file` + `load_state_dict` on the torch side
 * and by `loadModelWeights` here, as safetensors bytes (`@hpf/nn/node`'s saveTorchState writes
 * them to a file). Refuses non-finite values, naming the tensor and `destination`.
 */
export function encodeTorchState(module: AnyModule, metadata: Record<string, string> = {}, destination = 'the safetensors data'): Uint8Array {
  const tensors: Array<[string, Float32TensorData]> = module.stateDict().map(([name, variable]) => {
    const values = variable.dataSync() as Float32Array;
    const bad = values.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new Error(`saveTorchState: '${name}' holds ${values[bad]} at index ${bad}; nothing was written to ${destination}`);
    const shape = torchShape(variable.shape);
    return [name, { shape, values: variable.shape.length === 4 ? transposeConv(values, variable.shape, true) : values }];
  });
  return encodeSafetensors(tensors, metadata);
}
