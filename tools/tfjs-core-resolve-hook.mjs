// tfjs-core's ESM files import extensionless paths; `./gradients` is both a file and a directory
// there, which Node's ESM resolver (and tsx's) rejects. Vitest and bundlers resolve it like
// CommonJS would (file first); this hook does the same so that source files that import
// `@tensorflow/tfjs-core/dist/register_all_gradients` run under `node --import tsx`.
export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    const fromTfjsCore = context.parentURL?.includes('/@tensorflow/tfjs-core/') ?? false;
    if (error?.code === 'ERR_UNSUPPORTED_DIR_IMPORT' && fromTfjsCore) {
      return nextResolve(`${specifier}.js`, context);
    }
    throw error;
  }
}
