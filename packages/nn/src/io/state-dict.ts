import * as tf from '@tensorflow/tfjs-core';
import type { AnyModule } from '../layers/module.js';
import { checkOptionKeys } from '../layers/options.js';

export interface LoadStateOptions {
  /** Default true: a name missing from the source or unknown to the module is an error. */
  strict?: boolean;
}

/** What a (possibly partial) load did. */
export interface LoadReport {
  /** Names assigned from the source. */
  loaded: string[];
  /** Module names the source lacks (left at their current values). */
  missing: string[];
  /** Source names the module lacks (ignored). */
  unexpected: string[];
}

function listNames(names: string[]): string {
  const shown = names.slice(0, 8).map((n) => `'${n}'`).join(', ');
  return names.length > 8 ? `${shown} and ${names.length - 8} more` : shown;
}

/**
 * Assigns `tensors` (by dotted name) to the module's parameters and buffers. Everything is
 * checked before anything is assigned, so a failed load leaves the module unchanged. A shape or
 * dtype mismatch is always an error naming the parameter. The caller keeps ownership of `tensors`.
 */
export function loadStateDict(module: AnyModule, tensors: tf.NamedTensorMap, options: LoadStateOptions = {}): LoadReport {
  checkOptionKeys('loadStateDict', options, ['strict']);
  const strict = options.strict ?? true;
  const state = new Map(module.stateDict());
  const report: LoadReport = { loaded: [], missing: [], unexpected: [] };
  for (const name of Object.keys(tensors)) if (!state.has(name)) report.unexpected.push(name);
  for (const [name, variable] of state) {
    const source = tensors[name];
    if (source === undefined) {
      report.missing.push(name);
      continue;
    }
    if (!tf.util.arraysEqual(source.shape, variable.shape)) {
      throw new Error(`loadStateDict: parameter '${name}' has shape [${variable.shape.join(', ')}] but the weights have [${source.shape.join(', ')}]`);
    }
    if (source.dtype !== variable.dtype) {
      throw new Error(`loadStateDict: parameter '${name}' has dtype ${variable.dtype} but the weights have ${source.dtype}`);
    }
    report.loaded.push(name);
  }
  if (strict && (report.missing.length > 0 || report.unexpected.length > 0)) {
    const parts: string[] = [];
    if (report.missing.length > 0) parts.push(`missing ${listNames(report.missing)}`);
    if (report.unexpected.length > 0) parts.push(`unexpected ${listNames(report.unexpected)}`);
    throw new Error(`loadStateDict: weights do not match the module (${parts.join('; ')}); pass { strict: false } to load the matching names only`);
  }
  for (const name of report.loaded) (state.get(name) as tf.Variable).assign(tensors[name] as tf.Tensor);
  return report;
}

/** The module's parameters and buffers by dotted name. The tensors are the live variables: do not dispose them. */
export function getStateTensors(module: AnyModule): tf.NamedTensorMap {
  const out: tf.NamedTensorMap = {};
  for (const [name, variable] of module.stateDict()) out[name] = variable;
  return out;
}
