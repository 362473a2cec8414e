// Side effects of importing @hpf/engine, so that any package or test that imports it can train:
// - tfjs-core alone registers no gradient functions (the @tensorflow/tfjs union package does
//   this in its bundle). tsup bundles this module into dist because tfjs-core's ESM files are not
//   loadable by Node directly.
// - the wasm training kernels (they only take effect when the wasm backend is active).
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { registerWasmTrainingKernels } from './kernels/register.js';

registerWasmTrainingKernels();
