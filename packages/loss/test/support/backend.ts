import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { registerTfjsCoreGradients } from './gradients.js';

/** cpu backend with gradients, quiet about tfjs-node. */
export async function useCpuBackend(): Promise<void> {
  registerTfjsCoreGradients();
  tf.env().set('IS_TEST', true);
  await tf.setBackend('cpu');
}
