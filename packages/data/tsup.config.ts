import { defineConfig } from 'tsup';

export default defineConfig({
  // letterbox: a browser-safe entry (the main one reads files with node:fs).
  entry: ['src/index.ts', 'src/letterbox.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
});
