// Run by wasm-threads.test.ts in a child process: starts the 2-thread wasm backend, runs a conv and
// returns without exiting explicitly. The parent checks that the process ends by itself.
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/node.js';

const choice = await initBackend({ prefer: 'wasm', threads: 2, env: {} });
const sum = tf.tidy(() => tf.sum(tf.conv2d(tf.ones([1, 4, 4, 1]) as tf.Tensor4D, tf.ones([3, 3, 1, 1]) as tf.Tensor4D, 1, 'valid')));
process.stdout.write(`threads=${choice.wasm?.threads} sum=${sum.dataSync()[0]}\n`);
