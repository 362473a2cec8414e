// Consumer test: what a stranger gets from the registry, without publishing. Packs every public
// @hpf package, installs the tarballs into a new project outside the workspace (third-party
// dependencies from the npm registry), and trains + evaluates @hpf/atss there once through ESM
// import and once through CJS require (project/). Builds nothing: run `npm run build` first.
// Usage: node tools/consumer-test/run.mjs [--keep]   (--keep leaves the temporary project)
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../..');
const { values: args } = parseArgs({ options: { keep: { type: 'boolean', default: false } }, strict: true });

const t0 = Date.now();
const log = (msg) => console.log(`[consumer-test ${((Date.now() - t0) / 1000).toFixed(0).padStart(3)} s] ${msg}`);

class StepError extends Error {}
async function step(name, fn) {
  log(name);
  try {
    return await fn();
  } catch (err) {
    throw new StepError(`step "${name}" failed: ${err instanceof Error ? err.message : err}`);
  }
}

// npm run sets npm_* variables describing the workspace; the nested npm must see only the temporary
// project, as a stranger's npm would.
const cleanEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !/^npm_(package_|lifecycle_|config_(local_prefix|workspaces?|include_workspace_root)$)/i.test(k)),
);

function exec(cmd, argv, options) {
  return new Promise((ok, fail) => {
    execFile(cmd, argv, { env: cleanEnv, maxBuffer: 64 << 20, ...options }, (err, stdout, stderr) => {
      if (err) fail(new Error(`${cmd} ${argv.join(' ')} (in ${options.cwd}) exited ${err.code ?? err.signal}\n${stdout}${stderr}`));
      else ok({ stdout, stderr });
    });
  });
}

const work = mkdtempSync(join(tmpdir(), 'hpf-consumer-'));
let failed = false;
try {
  const packages = await step('find the public packages and their built files', () => {
    const found = [];
    for (const dir of readdirSync(join(ROOT, 'packages')).sort()) {
      const file = join(ROOT, 'packages', dir, 'package.json');
      if (!existsSync(file)) continue;
      const pkg = JSON.parse(readFileSync(file, 'utf8'));
      if (pkg.private) continue;
      const targets = JSON.stringify(pkg.exports).match(/\.\/dist\/[^"]+/g) ?? [];
      for (const t of targets) {
        if (!existsSync(join(ROOT, 'packages', dir, t))) throw new Error(`${pkg.name}: ${t} is missing; run \`npm run build\` first`);
      }
      found.push({ name: pkg.name, version: pkg.version, dir, pkg });
    }
    if (!found.some((p) => p.name === '@hpf/atss')) throw new Error('no public @hpf/atss package found');
    return found;
  });

  const tarballDir = join(work, 'tarballs');
  mkdirSync(tarballDir);
  const tarballs = await step(`npm pack ${packages.length} packages`, async () => {
    const wsArgs = packages.flatMap((p) => ['--workspace', p.name]);
    const { stdout } = await exec('npm', ['pack', '--json', '--pack-destination', tarballDir, ...wsArgs], { cwd: ROOT });
    const packed = JSON.parse(stdout);
    const byName = new Map();
    for (const entry of packed) {
      const paths = entry.files.map((f) => f.path);
      // bin/: @hpf/cli's committed launcher (packages/cli/bin/hpf.js), which loads dist/.
      const stray = paths.filter((p) => !/^(dist\/|bin\/|README\.md$|LICENSE|package\.json$)/.test(p));
      if (stray.length > 0) throw new Error(`${entry.name} would publish files outside dist/, bin/ and README: ${stray.join(', ')}`);
      if (!paths.includes('README.md')) throw new Error(`${entry.name} has no README.md in its tarball`);
      byName.set(entry.name, join(tarballDir, entry.filename));
    }
    for (const p of packages) if (!byName.has(p.name)) throw new Error(`npm pack produced no tarball for ${p.name}`);
    return byName;
  });

  const project = join(work, 'project');
  await step(`create a project outside the workspace: ${project}`, () => {
    cpSync(join(HERE, 'project'), project, { recursive: true });
    const engine = packages.find((p) => p.name === '@hpf/engine').pkg;
    const dependencies = Object.fromEntries([...tarballs].map(([name, file]) => [name, `file:${file}`]));
    // What the packages' READMEs tell a user to install next to them: the tfjs-core peer and the wasm backend.
    dependencies['@tensorflow/tfjs-core'] = engine.peerDependencies['@tensorflow/tfjs-core'];
    dependencies['@tensorflow/tfjs-backend-wasm'] = engine.dependencies['@tensorflow/tfjs-backend-wasm'];
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'hpf-consumer', version: '0.0.0', private: true, dependencies }, null, 2) + '\n');
  });

  await step('npm install (tarballs + npm registry)', () => exec('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: project }));

  await step('check the install: every @hpf package from its tarball, one tfjs-core, one wasm backend', () => {
    const lock = JSON.parse(readFileSync(join(project, 'package-lock.json'), 'utf8'));
    const count = new Map();
    for (const [location, entry] of Object.entries(lock.packages)) {
      const name = location.replace(/^.*node_modules\//, '');
      if (location === '') continue;
      count.set(name, (count.get(name) ?? 0) + 1);
      if (name.startsWith('@hpf/')) {
        if (location !== `node_modules/${name}`) throw new Error(`${name} installed at ${location}: a second copy (version mismatch between the packages)`);
        if (!tarballs.has(name)) throw new Error(`${name} was installed but is not one of the packed public packages`);
        if (!String(entry.resolved).startsWith('file:')) throw new Error(`${name} resolved from ${entry.resolved}, not from its tarball`);
      }
    }
    for (const name of tarballs.keys()) if (count.get(name) !== 1) throw new Error(`${name} is not installed`);
    for (const name of ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-wasm']) {
      if (count.get(name) !== 1) throw new Error(`${count.get(name) ?? 0} copies of ${name} installed, expected exactly 1`);
    }
  });

  const results = {};
  for (const script of ['train.mjs', 'train.cjs']) {
    results[script] = await step(`node ${script}: train @hpf/atss with HPF, evaluate with @hpf/eval`, async () => {
      const { stdout, stderr } = await exec(process.execPath, [script], { cwd: project });
      const indent = (text, mark) => text.trimEnd().replace(/^/gm, `  ${script} ${mark} `) + '\n';
      process.stdout.write(indent(stdout, '|'));
      if (stderr.trim()) process.stdout.write(indent(stderr, '!'));
      const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
      if (!line) throw new Error(`${script} printed no RESULT line`);
      return JSON.parse(line.slice('RESULT '.length));
    });
  }

  await step('ESM and CJS builds trained identically', () => {
    const [a, b] = Object.values(results);
    for (const key of ['firstLoss', 'lastLoss', 'AP', 'AP50']) {
      if (a[key] !== b[key]) throw new Error(`${key}: esm ${a[key]} vs cjs ${b[key]} (same seeds, same data: the two builds differ)`);
    }
  });
  log('passed');
} catch (err) {
  failed = true;
  console.error(`\nconsumer test FAILED: ${err instanceof StepError ? err.message : err?.stack ?? err}`);
  console.error(`the temporary project is kept for inspection: ${work}`);
  process.exitCode = 1;
} finally {
  if (!failed && !args.keep) rmSync(work, { recursive: true, force: true });
  else if (!failed) log(`kept ${work}`);
}
