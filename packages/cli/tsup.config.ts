import { defineConfig } from 'tsup';

// ESM only, library entry and `hpf` bin in one build (they share chunks). A CJS build cannot load:
// vega 6 (charts) is an ES module with top-level await, which require() rejects
// (ERR_REQUIRE_ASYNC_MODULE) even on Node >= 20.19. CJS callers use `await import('@hpf/cli')`.
export default defineConfig({
  entry: ['src/index.ts', 'src/cli.ts'],
  format: ['esm'],
  dts: { entry: 'src/index.ts' },
  sourcemap: true,
  clean: true,
  target: 'node20',
});
