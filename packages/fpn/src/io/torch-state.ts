/**
 * Loading and saving a module's state in torch's layout, the way pretrained weights are published:
 * names are the module's `stateDict()` names (torchvision's and mmdetection's), conv weights are
 * OIHW (ours are HWIO: every rank-4 tensor is transposed on the way in and out).
 *
 * A load checks everything (names, shapes, dtypes, finiteness) before it assigns anything, and a
 * mismatch is one error listing every missing, unexpected and mis-shaped tensor.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { AnyModule } from '../nn/module.js';
import { checkOptionKeys } from '../nn/options.js';
import { readSafetensors, tensorValues, writeSafetensors, type Float32TensorData, type SafetensorsFile } from './safetensors.js';

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

export interface TorchLoadOptions {
  /** Prepended to each module name to find it in the file (e.g. 'backbone.'). Default ''. */
  prefix?: string;
  /** File names that may stay unused without an error (classifier, num_batches_tracked, other parts). */
  ignore?: (name: string) => boolean;
  /** What is being loaded, for messages (e.g. 'the resnet50 backbone'). */
  target?: string;
  /** Appended to a mismatch error (e.g. what the file looks like). */
  hint?: (file: SafetensorsFile) => string | undefined;
}

export interface TorchLoadReport {
  /** Module names assigned. */
  loaded: string[];
  /** File names left unused because `ignore` allowed it. */
  ignored: string[];
}

export interface MisshapedTensor {
  name: string;
  /** Torch layout (OIHW for convs), as the file stores it. */
  expected: number[];
  found: number[];
}

/** A file whose tensors do not fit the module; every list is complete. */
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
 * Assigns the tensors of a safetensors file (torch layout) to the module's parameters and buffers
 * by name. Throws `WeightsMismatchError` naming every missing, unexpected (not ignored) and
 * mis-shaped tensor, or an error naming a non-float or non-finite one; the module is unchanged
 * unless the whole file fits.
 */
export function loadTorchState(module: AnyModule, file: SafetensorsFile, options: TorchLoadOptions = {}): TorchLoadReport {
  checkOptionKeys('loadTorchState', options, ['prefix', 'ignore', 'target', 'hint']);
  const prefix = options.prefix ?? '';
  const ignore = options.ignore ?? (() => false);
  const target = options.target ?? 'the model';
  const state = module.stateDict();
  const used = new Set<string>();
  const missing: string[] = [];
  const misshaped: MisshapedTensor[] = [];
  for (const [name, variable] of state) {
    const key = prefix + name;
    const entry = file.tensors.get(key);
    if (entry === undefined) {
      missing.push(key);
      continue;
    }
    used.add(key);
    const expected = torchShape(variable.shape);
    if (!tf.util.arraysEqual(expected, entry.shape)) misshaped.push({ name: key, expected, found: entry.shape });
  }
  const unexpected: string[] = [];
  const ignored: string[] = [];
  for (const key of file.tensors.keys()) {
    if (used.has(key)) continue;
    if (ignore(key)) ignored.push(key);
    else unexpected.push(key);
  }
  if (missing.length > 0 || unexpected.length > 0 || misshaped.length > 0) {
    const lines = [`${file.source}: the weights do not fit ${target} (${used.size - misshaped.length} of ${state.length} tensors match):`];
    if (missing.length > 0) lines.push(`  missing from the file (${missing.length}): ${missing.join(', ')}`);
    if (unexpected.length > 0) lines.push(`  unexpected in the file (${unexpected.length}): ${unexpected.join(', ')}`);
    if (misshaped.length > 0) {
      const shapes = misshaped.map((m) => `${m.name} is [${m.found.join(', ')}] in the file, [${m.expected.join(', ')}] in the model`);
      lines.push(`  wrong shape (${misshaped.length}, torch layout): ${shapes.join('; ')}`);
    }
    const hint = options.hint?.(file);
    if (hint !== undefined) lines.push(`  ${hint}`);
    throw new WeightsMismatchError(lines.join('\n'), missing, unexpected, misshaped);
  }
  // Decode and check every value before the first assignment, so a bad file changes nothing.
  const values = state.map(([name, variable]) => {
    const key = prefix + name;
    const raw = tensorValues(file, key);
    const bad = raw.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new Error(`${file.source}: tensor '${key}' holds ${raw[bad]} at index ${bad}; weights must be finite`);
    return variable.shape.length === 4 ? transposeConv(raw, variable.shape, false) : raw;
  });
  state.forEach(([, variable], i) => tf.tidy(() => variable.assign(tf.tensor(values[i]!, variable.shape, 'float32'))));
  return { loaded: state.map(([name]) => name), ignored };
}

/** `num_batches_tracked`: torch's BatchNorm counter, which ours does not keep (momentum is always set). */
export function isBatchCounter(name: string): boolean {
  return name.endsWith('.num_batches_tracked') || name === 'num_batches_tracked';
}

function sourceOf(source: string | SafetensorsFile): SafetensorsFile {
  return typeof source === 'string' ? readSafetensors(source) : source;
}

/**
 * Loads a whole model (a detector, a backbone, ...) from a safetensors file in torch layout whose
 * names are the module's own, as `saveTorchState` writes them. Only torch's `num_batches_tracked`
 * counters may be extra.
 */
export function loadModelWeights(module: AnyModule, source: string | SafetensorsFile, target = 'the model'): TorchLoadReport {
  return loadTorchState(module, sourceOf(source), { ignore: isBatchCounter, target });
}

/**
 * Saves every parameter and buffer of `module` as float32 safetensors in torch layout (conv
 * weights OIHW), readable by `safetensors.torch.load_file` + `load_state_dict` on the torch side
 * and by `loadModelWeights` here. Refuses non-finite values (naming the tensor) before writing.
 */
export async function saveTorchState(module: AnyModule, path: string, metadata: Record<string, string> = {}): Promise<void> {
  const tensors: Array<[string, Float32TensorData]> = module.stateDict().map(([name, variable]) => {
    const values = variable.dataSync() as Float32Array;
    const bad = values.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new Error(`saveTorchState: '${name}' holds ${values[bad]} at index ${bad}; nothing was written to ${path}`);
    const shape = torchShape(variable.shape);
    return [name, { shape, values: variable.shape.length === 4 ? transposeConv(values, variable.shape, true) : values }];
  });
  await writeSafetensors(path, tensors, metadata);
}
