import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// tfjs-core alone registers no gradients; vitest resolves this entry (plain Node needs the
// resolve hook in the repository's tools/, as the bench script does).
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';

/** cpu backend with gradients, quiet about tfjs-node. */
export async function useCpuBackend(): Promise<void> {
  tf.env().set('IS_TEST', true);
  await tf.setBackend('cpu');
}
