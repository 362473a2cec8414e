// Lets `node --import tsx` run TypeScript sources that import @hpf/engine (or tfjs-core's
// `dist/register_all_gradients`) without a build:
//   node --import tsx --import ./tools/register-tfjs-core-resolve.mjs script.ts
// Scripts can instead call `register('<path>/tfjs-core-resolve-hook.mjs', import.meta.url)` before
// importing the sources, as the packages' bench/*.bench.ts do.
import { register } from 'node:module';

register('./tfjs-core-resolve-hook.mjs', import.meta.url);
