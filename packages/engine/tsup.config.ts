import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/node.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  // tfjs-core registers no gradients by itself and its per-file ESM (extensionless imports) is not
  // loadable by Node, so the gradient registrations are bundled, as the @tensorflow/tfjs union
  // package does; their ops reach the shared tfjs engine through tfjs' global registries.
  noExternal: [/^@tensorflow\/tfjs-core\/dist\//],
  // '@hpf/engine': the node entry imports the main entry by the package's own name (one copy of
  // the kernel registry in both builds). Optional peers, loaded by a computed dynamic import: never bundled, never needed at build.
  external: ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', '@hpf/engine'],
  // import.meta.url in the CJS build (wasm-threads.ts resolves tfjs-backend-wasm's threaded build with it).
  shims: true,
});
