import { fileURLToPath } from 'node:url';
import { readdirSync, existsSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('.', import.meta.url));
const packageDirs = readdirSync(`${root}packages`).filter((d) => existsSync(`${root}packages/${d}/package.json`));

// Tests import workspace packages from their sources, so `npm test` needs no prior build:
// `@hpf/x` -> packages/x/src/index.ts, and a subpath export `@hpf/x/y` (e.g. the Node-only
// `@hpf/nn/node`) -> packages/x/src/y.ts.
const alias = packageDirs.flatMap((d) => [
  { find: new RegExp(`^@hpf/${d}/([a-z-]+)$`), replacement: `${root}packages/${d}/src/$1.ts` },
  { find: new RegExp(`^@hpf/${d}$`), replacement: `${root}packages/${d}/src/index.ts` },
]);

export default defineConfig({
  resolve: { alias },
  test: {
    // vitest runs test files in parallel on all cores: a developer's HPF_WASM_THREADS > 1 would
    // only make them contend (wasm-threads.test.ts asks for its threads explicitly).
    env: { HPF_WASM_THREADS: '1' },
    projects: [
      {
        extends: true as const,
        test: { name: 'architecture', root, include: ['test/**/*.test.ts'] },
      },
      ...packageDirs.map((d) => ({
      extends: true as const,
      test: {
        name: `@hpf/${d}`,
        root: `${root}packages/${d}`,
        include: ['test/**/*.test.ts'],
        testTimeout: 120_000,
        hookTimeout: 120_000,
      },
    })),
    ],
  },
});
