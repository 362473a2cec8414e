#!/usr/bin/env node
// The `hpf` command's entry. npm links a package's bin only when the file exists at install time;
// a bin pointing into dist/ is missing on a fresh clone (dist/ is built later), so `npx hpf` would
// ask the registry for an unrelated package. This file is committed, so the link always exists.
try {
  await import('../dist/cli.js');
} catch (error) {
  const missing = error && error.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist/cli.js');
  if (!missing) throw error;
  process.stderr.write('hpf: the CLI is not built yet; run `npm run build` at the repository root, then try again\n');
  process.exitCode = 1;
}
