import * as tf from '@tensorflow/tfjs-core';
import type { AnyModule } from '../nn/module.js';
import { checkOptionKeys } from '../nn/options.js';
import { fileIOHandler, weightByteLength, type FileHandlerOptions } from './file-handler.js';
import { getStateTensors, loadStateDict, type LoadReport, type LoadStateOptions } from './state-dict.js';

/** A directory path (the file handler is used) or any tf.io.IOHandler. */
export type WeightsDestination = string | tf.io.IOHandler;

export interface SaveWeightsOptions extends FileHandlerOptions {
  /** Stored as model.json's userDefinedMetadata. */
  metadata?: NonNullable<tf.io.ModelArtifacts['userDefinedMetadata']>;
}

function handlerFor(destination: WeightsDestination, options: FileHandlerOptions): tf.io.IOHandler {
  return typeof destination === 'string' ? fileIOHandler(destination, options) : destination;
}

/**
 * Saves every parameter and buffer of `module` (dotted names, float32) in the tfjs weights format.
 * Values are copied out; the module is not changed.
 */
export async function saveWeights(module: AnyModule, destination: WeightsDestination, options: SaveWeightsOptions = {}): Promise<tf.io.SaveResult> {
  checkOptionKeys('saveWeights', options, ['shardBytes', 'metadata']);
  const { metadata, ...handlerOptions } = options;
  const handler = handlerFor(destination, handlerOptions);
  if (handler.save === undefined) throw new Error('saveWeights: the IO handler has no save()');
  const { data, specs } = await tf.io.encodeWeights(getStateTensors(module));
  const artifacts: tf.io.ModelArtifacts = { weightSpecs: specs, weightData: data, format: 'hpf-weights', generatedBy: '@hpf/fpn' };
  if (metadata !== undefined) artifacts.userDefinedMetadata = metadata;
  return handler.save(artifacts);
}

export interface LoadWeightsOptions extends LoadStateOptions, FileHandlerOptions {}

/**
 * Loads weights saved by `saveWeights` into `module` by parameter name. Unknown or missing names
 * are errors unless `strict: false` (then the report lists what was skipped); a shape mismatch is
 * always an error naming the parameter. Nothing is assigned unless every check passes.
 */
export async function loadWeights(module: AnyModule, source: WeightsDestination, options: LoadWeightsOptions = {}): Promise<LoadReport> {
  checkOptionKeys('loadWeights', options, ['strict', 'shardBytes']);
  const { strict, ...handlerOptions } = options;
  const handler = handlerFor(source, handlerOptions);
  if (handler.load === undefined) throw new Error('loadWeights: the IO handler has no load()');
  const artifacts = await handler.load();
  const specs = artifacts.weightSpecs ?? [];
  const data = artifacts.weightData === undefined ? new ArrayBuffer(0) : artifacts.weightData;
  const available = Array.isArray(data) ? data.reduce((sum, b) => sum + b.byteLength, 0) : data.byteLength;
  let needed = 0;
  for (const spec of specs) {
    needed += weightByteLength(spec);
    if (needed > available) {
      throw new Error(`loadWeights: weight data is truncated: '${spec.name}' ends at byte ${needed} but only ${available} bytes were loaded`);
    }
  }
  const tensors = tf.io.decodeWeights(data, specs);
  try {
    return loadStateDict(module, tensors, strict === undefined ? {} : { strict });
  } finally {
    tf.dispose(Object.values(tensors));
  }
}
