import * as tf from '@tensorflow/tfjs-core';
import type { AnyModule } from '../layers/module.js';
import { checkOptionKeys } from '../layers/options.js';
import { weightByteLength } from './weights-format.js';
import { getStateTensors, loadStateDict, type LoadReport, type LoadStateOptions } from './state-dict.js';

export interface SaveWeightsOptions {
  /** Stored as model.json's userDefinedMetadata. */
  metadata?: NonNullable<tf.io.ModelArtifacts['userDefinedMetadata']>;
}

function handlerFor(where: string, destination: tf.io.IOHandler): tf.io.IOHandler {
  if (typeof destination === 'string') {
    throw new Error(`${where}: a directory path ('${destination}') needs the file system: import ${where} from '@hpf/nn/node', or pass a tf.io.IOHandler`);
  }
  return destination;
}

/**
 * Saves every parameter and buffer of `module` (dotted names, float32) in the tfjs weights format.
 * Values are copied out; the module is not changed.
 */
export async function saveWeights(module: AnyModule, destination: tf.io.IOHandler, options: SaveWeightsOptions = {}): Promise<tf.io.SaveResult> {
  checkOptionKeys('saveWeights', options, ['metadata']);
  const { metadata } = options;
  const handler = handlerFor('saveWeights', destination);
  if (handler.save === undefined) throw new Error('saveWeights: the IO handler has no save()');
  const { data, specs } = await tf.io.encodeWeights(getStateTensors(module));
  const artifacts: tf.io.ModelArtifacts = { weightSpecs: specs, weightData: data, format: 'hpf-weights', generatedBy: '@hpf/nn' };
  if (metadata !== undefined) artifacts.userDefinedMetadata = metadata;
  return handler.save(artifacts);
}

export type LoadWeightsOptions = LoadStateOptions;

/**
 * Loads weights saved by `saveWeights` into `module` by parameter name. Unknown or missing names
 * are errors unless `strict: false` (then the report lists what was skipped); a shape mismatch is
 * always an error naming the parameter. Nothing is assigned unless every check passes.
 */
export async function loadWeights(module: AnyModule, source: tf.io.IOHandler, options: LoadWeightsOptions = {}): Promise<LoadReport> {
  checkOptionKeys('loadWeights', options, ['strict']);
  const { strict } = options;
  const handler = handlerFor('loadWeights', source);
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
