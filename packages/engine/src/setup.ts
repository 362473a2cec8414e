// Side effects of importing @hpf/engine, so that any package or test that imports it can train:
// - tfjs-core alone registers no gradient functions (the @tensorflow/tfjs union package does
//   this in its bundle). tsup bundles this module into dist because tfjs-core's ESM files are not
//   loadable by Node directly.
// - the wasm training kernels (they only take effect when the wasm backend is active).
//
// Import order matters in the CJS bundle, where require() calls and bundled modules run in this
// order (ESM hoists the external imports, so it was never affected):
// - tfjs-core itself first: the bundled copy of its engine module otherwise creates the global tfjs
//   engine, whose tensors then lack tfjs-core's op handlers ("Cannot read properties of null
//   (reading 'cast')" in a consumer that requires @hpf/engine before @tensorflow/tfjs-core);
// - the wasm backend before registerWasmTrainingKernels(): loading it registers its own slow
//   Conv2DBackpropInput, which would otherwise overwrite the engine's replacement.
import '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { registerWasmTrainingKernels } from './kernels/register.js';

registerWasmTrainingKernels();
