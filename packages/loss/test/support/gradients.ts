import { createRequire } from 'node:module';
import { buildSync } from 'esbuild';

/**
 * Registers tfjs-core's gradient functions in this process.
 *
 * `@tensorflow/tfjs-core` alone registers no gradients: the union package `@tensorflow/tfjs` does it
 * by importing `dist/register_all_gradients`, an ES module whose extensionless and directory imports
 * Node cannot load. esbuild (already installed for tsup) bundles that module into one CommonJS
 * script; its copy of the ops runs on the same global engine and gradient registry, which is how the
 * union package's own bundle works. Test and bench support only: library code never does this.
 */
let registered = false;
export function registerTfjsCoreGradients(): void {
  if (registered) return;
  const require = createRequire(import.meta.url);
  const entry = require.resolve('@tensorflow/tfjs-core/dist/register_all_gradients.js');
  const out = buildSync({ entryPoints: [entry], bundle: true, format: 'cjs', platform: 'node', write: false, logLevel: 'silent' });
  const code = out.outputFiles[0]!.text;
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- evaluating the bundle we just built
  new Function('require', 'module', 'exports', code)(require, { exports: {} }, {});
  registered = true;
}
