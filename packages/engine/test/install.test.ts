import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { describe, expect, it } from 'vitest';
import * as engine from '../src/index.js';

describe('explicit runtime set-up', () => {
  it('importing the engine registers nothing; installTrainingKernels() registers the gradients and the wasm kernels', () => {
    // Before the call: the state the import left (this file runs in its own module graph and process).
    for (const op of ['Conv2D', 'Sigmoid', 'Relu']) expect(tf.getGradient(op), op).toBeUndefined();
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeUndefined();
    expect(engine.trainingKernelsInstalled()).toBe(false);

    const registration = engine.installTrainingKernels();
    for (const op of ['Conv2D', 'GatherV2', 'ResizeNearestNeighbor', 'Sigmoid', 'Relu']) expect(tf.getGradient(op), op).toBeDefined();
    expect(registration.added).toEqual(['Conv2DBackpropFilter', 'UnsortedSegmentSum']);
    expect(registration.replaced).toEqual(engine.WASM_REPLACED_KERNELS.map((k) => k.kernelName));
    expect(engine.trainingKernelsInstalled()).toBe(true);
    // Idempotent.
    expect(engine.installTrainingKernels()).toEqual(registration);
    expect(engine.activeWasmTrainingKernels()).toEqual(registration);
  });

  it('registers exactly the gradients of tfjs-core register_all_gradients', () => {
    const file = createRequire(import.meta.url).resolve('@tensorflow/tfjs-core/dist/register_all_gradients.js');
    const theirs = [...readFileSync(file, 'utf8').matchAll(/import \{ (\w+GradConfig) \} from '\.\/gradients\//g)].map((m) => m[1]);
    expect(theirs.length).toBeGreaterThan(90);
    const kernels = (names: Array<string | undefined>) => new Set(names);
    expect(kernels(engine.TFJS_GRADIENT_CONFIGS.map((c) => c.kernelName)).size).toBe(theirs.length);
    for (const config of engine.TFJS_GRADIENT_CONFIGS) expect(tf.getGradient(config.kernelName), config.kernelName).toBe(config);
  });

  it('checks the private wasm backend members the kernels use, with an error naming them and the pinned version', () => {
    expect(engine.missingWasmBackendMembers(BackendWasm.prototype)).toEqual([]);
    expect(() => engine.checkWasmBackend()).not.toThrow();
    const { makeOutput: _m, ...withoutMakeOutput } = Object.fromEntries(
      engine.WASM_BACKEND_MEMBERS.map((name) => [name, () => undefined]),
    ) as Record<string, () => void>;
    expect(engine.missingWasmBackendMembers(withoutMakeOutput)).toEqual(['makeOutput']);
    expect(() => engine.checkWasmBackend(withoutMakeOutput, '4.23.0')).toThrow(
      /BackendWasm\.makeOutput\(\) of @tensorflow\/tfjs-backend-wasm 4\.22\.0, but the installed 4\.23\.0 has no such method\. Install @tensorflow\/tfjs-backend-wasm@4\.22\.0/,
    );
    expect(() => engine.checkWasmBackend({}, '5.0.0')).toThrow(/makeOutput\(\), BackendWasm\.typedArrayFromHeap\(\), BackendWasm\.incRef\(\), BackendWasm\.disposeData\(\).*no such methods/);
  });
});
