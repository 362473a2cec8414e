// Package checks before publishing: publint (package.json fields vs the files npm packs) and
// @arethetypeswrong/cli (types and JS resolve alike for node10, node16 CJS/ESM and bundlers) on
// every public package. Needs built dist (`npm run build`). Packs every package once (one
// `npm pack` from the root), runs attw on the tarball and publint on its unpacked contents (exactly
// what npm would publish). Exits 1 if any package has an error or a warning; prints a tool's full
// report only for the packages that fail. Usage: node tools/check-packages.mjs [--jobs N]
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({ options: { jobs: { type: 'string', default: '2' } }, strict: true });
const jobs = Number(args.jobs);
if (!Number.isInteger(jobs) || jobs < 1) throw new Error(`--jobs must be a positive integer, got ${args.jobs}`);

// Both are root devDependencies; their bins are in the root's node_modules/.bin.
const binOf = (name) => {
  const file = join(ROOT, 'node_modules', '.bin', name);
  if (!existsSync(file)) throw new Error(`${name} is not installed at the repository root (npm install)`);
  return file;
};
const PUBLINT = binOf('publint');
const ATTW = binOf('attw');

// @hpf/cli is ESM only on purpose (vega, which its charts use, is an ES module with top-level await,
// so a CJS build could never load): attw's esm-only profile skips the node10 and node16-from-CJS
// resolutions, which cannot succeed for such a package. Every other package ships ESM and CJS.
const ATTW_PROFILE = { '@hpf/cli': 'esm-only' };
// Packages with subpath exports (`@hpf/nn/node`, `@hpf/data/letterbox`, ...): node10 resolution
// ignores "exports", so no subpath can resolve there; they target Node >= 20 (engines), whose
// resolution attw checks under its node16 profile (node16 CJS/ESM and bundlers).
const hasSubpaths = (pkg) => Object.keys(pkg.exports ?? {}).some((k) => k !== '.' && k !== './package.json');

const packages = readdirSync(join(ROOT, 'packages'))
  .sort()
  .map((dir) => join(ROOT, 'packages', dir))
  .filter((dir) => existsSync(join(dir, 'package.json')))
  .map((dir) => ({ dir, pkg: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) }))
  .filter(({ pkg }) => !pkg.private);
for (const { dir, pkg } of packages) {
  if (!existsSync(join(dir, 'dist'))) throw new Error(`${pkg.name}: no dist/; run \`npm run build\` first`);
}

function run(file, argv, cwd) {
  return new Promise((ok) => {
    execFile(file, argv, { cwd, maxBuffer: 64 << 20, env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' } }, (err, stdout, stderr) =>
      ok({ code: err ? (err.code ?? err.signal ?? 1) : 0, stdout, output: `${stdout}${stderr}` }),
    );
  });
}

const started = Date.now();
const work = mkdtempSync(join(tmpdir(), 'hpf-check-packages-'));
try {
  const pack = await run('npm', ['pack', '--json', '--pack-destination', work, ...packages.flatMap(({ pkg }) => ['--workspace', pkg.name])], ROOT);
  if (pack.code !== 0) throw new Error(`npm pack failed:\n${pack.output}`);
  const tarballs = new Map(JSON.parse(pack.stdout).map((e) => [e.name, join(work, e.filename)]));

  async function check({ pkg }) {
    const tarball = tarballs.get(pkg.name);
    if (tarball === undefined) return { name: pkg.name, failures: ['npm pack produced no tarball'] };
    const unpacked = join(work, pkg.name.replace('/', '__'));
    mkdirSync(unpacked);
    const untar = await run('tar', ['-xzf', tarball, '-C', unpacked], work);
    if (untar.code !== 0) return { name: pkg.name, failures: [`tar: ${untar.output}`] };
    const profile = ATTW_PROFILE[pkg.name] ?? (hasSubpaths(pkg) ? 'node16' : undefined);
    const publint = await run(PUBLINT, ['--strict', '--pack', 'false', join(unpacked, 'package')], work);
    const attw = await run(ATTW, [tarball, '--format', 'ascii', ...(profile ? ['--profile', profile] : [])], work);
    const failures = [];
    if (publint.code !== 0) failures.push(`publint --strict:\n${publint.output}`);
    if (attw.code !== 0) failures.push(`attw${profile ? ` --profile ${profile}` : ''}:\n${attw.output}`);
    return { name: pkg.name, failures, note: profile ? ` (attw profile ${profile})` : '' };
  }

  const results = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(jobs, packages.length) }, async () => {
      while (next < packages.length) {
        const r = await check(packages[next++]);
        console.log(`${r.failures.length === 0 ? 'ok  ' : 'FAIL'} ${r.name}${r.note ?? ''}`);
        results.push(r);
      }
    }),
  );
  const failed = results.filter((r) => r.failures.length > 0);
  for (const r of failed) console.error(`\n==== ${r.name}\n${r.failures.join('\n')}`);
  console.log(`\n${packages.length - failed.length}/${packages.length} packages pass publint and attw (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  if (failed.length > 0) process.exitCode = 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
