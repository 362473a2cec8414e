// Vitest config for test/overfit-diagnose.ts only (not part of the suite): the root config's
// source aliases, this one file. DIAG_ROOT points at another checkout (e.g. a frozen copy).
import { readdirSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = process.env.DIAG_ROOT ?? fileURLToPath(new URL('../../../', import.meta.url));
const dirs = readdirSync(`${root}packages`).filter((d) => existsSync(`${root}packages/${d}/package.json`));
export default defineConfig({
  resolve: { alias: Object.fromEntries(dirs.map((d) => [`@hpf/${d}`, `${root}packages/${d}/src/index.ts`])) },
  test: { root: `${root}packages/foveabox`, include: ['test/overfit-diagnose.ts'], testTimeout: 3_600_000 },
});
