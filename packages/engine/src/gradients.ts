// tfjs-core alone registers no gradient functions (the @tensorflow/tfjs union package does this
// in its bundle). Training needs them, so the engine registers them as a side effect; tsup
// bundles this module into dist because tfjs-core's ESM files are not loadable by Node directly.
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
