// Resolves `@hpf/<package>` to that package's TypeScript sources (packages/<package>/src/index.ts)
// instead of its built dist, so a benchmark run under tsx measures the working tree without a
// build, and an edit in @hpf/dense is seen by the adapters that import it. Also applies the
// tfjs-core directory-import fix of tfjs-core-resolve-hook.mjs (beside this file).
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const packagesDir = new URL('../packages/', import.meta.url);

export async function resolve(specifier, context, nextResolve) {
  const match = /^@hpf\/([a-z0-9-]+)$/.exec(specifier);
  if (match !== null) {
    const entry = new URL(`${match[1]}/src/index.ts`, packagesDir);
    if (existsSync(entry)) return nextResolve(pathToFileURL(entry.pathname).href, context);
  }
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    const fromTfjsCore = context.parentURL?.includes('/@tensorflow/tfjs-core/') ?? false;
    if (error?.code === 'ERR_UNSUPPORTED_DIR_IMPORT' && fromTfjsCore) return nextResolve(`${specifier}.js`, context);
    throw error;
  }
}
