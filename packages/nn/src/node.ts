/**
 * `@hpf/nn/node`: weights in a directory (node:fs). The main entry imports no Node module, so
 * browsers can bundle it; its saveWeights / loadWeights take a tf.io.IOHandler. These take a
 * directory path too.
 */
import type * as tf from '@tensorflow/tfjs-core';
// The main entry by the package's own name, so the built node entry shares it instead of a copy.
import {
  encodeTorchState,
  loadBackboneWeights as loadBackboneFromFile,
  loadModelWeights as loadModelFromSource,
  loadWeights as loadFromHandler,
  type BackboneLoadReport,
  type ResNet,
  type SafetensorsFile,
  type TensorSource,
  type TorchLoadReport,
  saveWeights as saveToHandler,
  type AnyModule,
  type FileHandlerOptions,
  type LoadReport,
  type LoadStateOptions,
  type SaveWeightsOptions as HandlerSaveOptions,
} from '@hpf/nn';
import { checkOptionKeys } from './layers/options.js';
import { fileIOHandler, writeFileAtomic } from './io/file-handler.js';
import { readSafetensors } from './io/safetensors-file.js';

export { fileIOHandler, writeFileAtomic } from './io/file-handler.js';
export { readSafetensors, writeSafetensors } from './io/safetensors-file.js';

/** The main entry's `loadBackboneWeights`, also from a safetensors path. */
export function loadBackboneWeights(backbone: ResNet, source: string | SafetensorsFile, options: { prefix?: string } = {}): BackboneLoadReport {
  return loadBackboneFromFile(backbone, typeof source === 'string' ? readSafetensors(source) : source, options);
}

/** The main entry's `loadModelWeights`, also from a safetensors path. */
export function loadModelWeights(module: AnyModule, source: string | SafetensorsFile | TensorSource, target = 'the model'): TorchLoadReport {
  return loadModelFromSource(module, typeof source === 'string' ? readSafetensors(source) : source, target);
}

/** Every parameter and buffer of `module` as a safetensors file in torch layout (`encodeTorchState`), written atomically. */
export async function saveTorchState(module: AnyModule, path: string, metadata: Record<string, string> = {}): Promise<void> {
  await writeFileAtomic(path, encodeTorchState(module, metadata, path));
}

/** A directory path (model.json + shards, via fileIOHandler) or any tf.io.IOHandler. */
export type WeightsDestination = string | tf.io.IOHandler;

export interface SaveWeightsOptions extends HandlerSaveOptions, FileHandlerOptions {}
export interface LoadWeightsOptions extends LoadStateOptions, FileHandlerOptions {}

function handlerFor(destination: WeightsDestination, options: FileHandlerOptions): tf.io.IOHandler {
  return typeof destination === 'string' ? fileIOHandler(destination, options) : destination;
}

/** `saveWeights` of the main entry, to a directory (atomic, content-hashed shards) or a handler. */
export async function saveWeights(module: AnyModule, destination: WeightsDestination, options: SaveWeightsOptions = {}): Promise<tf.io.SaveResult> {
  checkOptionKeys('saveWeights', options, ['shardBytes', 'metadata']);
  const { shardBytes, ...rest } = options;
  return saveToHandler(module, handlerFor(destination, shardBytes === undefined ? {} : { shardBytes }), rest);
}

/** `loadWeights` of the main entry, from a directory (validated before decoding) or a handler. */
export async function loadWeights(module: AnyModule, source: WeightsDestination, options: LoadWeightsOptions = {}): Promise<LoadReport> {
  checkOptionKeys('loadWeights', options, ['strict', 'shardBytes']);
  const { shardBytes, ...rest } = options;
  return loadFromHandler(module, handlerFor(source, shardBytes === undefined ? {} : { shardBytes }), rest);
}
