import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { builtinModules } from 'node:module';
import { describe, expect, it } from 'vitest';

// docs/architecture.md section 2: dependencies point one way, loss <- nn <- dense <- engine/data/eval <- adapters <- cli.
// A package may import only packages of a strictly lower layer (digits-det builds on data), from
// its sources, tests and benchmarks alike, and never another package's files by a relative path.
const LAYER: Record<string, number> = {
  '@hpf/loss': 0,
  // Network blocks (layers, backbones, the FPN neck, weight IO): tfjs-core only.
  '@hpf/nn': 1,
  // What dense detectors share (boxes, priors, targets, the DenseDetector base, post-processing).
  '@hpf/dense': 1.5,
  '@hpf/engine': 2,
  '@hpf/data': 2,
  '@hpf/eval': 2,
  '@hpf/digits-det': 3,
  // Exported models: rebuilds any adapter from a descriptor.
  '@hpf/model': 4.5,
  '@hpf/cli': 5,
  // Private test helpers for the adapters' suites: may use anything below the adapters, and no
  // library source may import it (checked below).
  '@hpf/testkit': 3.5,
};
const ADAPTERS = ['retinanet', 'fcos', 'atss', 'foveabox', 'freeanchor', 'paa', 'gfl', 'vfnet', 'tood'];
for (const a of ADAPTERS) LAYER[`@hpf/${a}`] = 4;
const EXTRA_ALLOWED: Record<string, string[]> = { '@hpf/digits-det': ['@hpf/data'] };

const root = new URL('..', import.meta.url).pathname;
const packagesDir = join(root, 'packages');
const packages = readdirSync(packagesDir)
  .filter((d) => existsSync(join(packagesDir, d, 'package.json')))
  .map((d) => ({ dir: join(packagesDir, d), json: JSON.parse(readFileSync(join(packagesDir, d, 'package.json'), 'utf8')) }));

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return name === 'node_modules' || name === 'dist' ? [] : sourceFiles(p);
    return /\.(ts|mts|js|mjs)$/.test(name) && !name.endsWith('.d.ts') ? [p] : [];
  });
}

/**
 * Module specifiers a file loads: static imports, re-exports, dynamic import(), require() and
 * module.register() of a loader hook (which Node resolves like an import).
 */
function specifiers(file: string): string[] {
  const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  return [...text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+|require\s*\(\s*|register\s*\(\s*)['"]([^'"]+)['"]/g)].map((m) => m[1]!);
}

/** Bare package names imported by a file. */
function importedPackages(file: string): string[] {
  return specifiers(file)
    .filter((s) => !s.startsWith('.') && !s.startsWith('node:') && !builtinModules.includes(s.split('/')[0]!))
    .map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!));
}

/** Relative specifiers of a file that resolve into another package's folder. */
function crossPackageRelativeImports(file: string, packageDir: string): string[] {
  return specifiers(file).filter((s) => {
    if (!s.startsWith('.')) return false;
    const target = resolve(dirname(file), s);
    return target.startsWith(packagesDir + sep) && !target.startsWith(packageDir + sep);
  });
}

/** Folders of a package that hold code besides src/ (tests, benchmarks, scripts, examples, tools). */
const OTHER_CODE_DIRS = ['test', 'bench', 'scripts', 'examples', 'tools'];

describe('package architecture', () => {
  it('finds the workspace packages', () => {
    expect(packages.map((p) => p.json.name)).toEqual(expect.arrayContaining(['@hpf/loss', '@hpf/nn', '@hpf/dense', '@hpf/engine']));
  });

  for (const { dir, json } of packages) {
    describe(json.name, () => {
      it('has a known layer', () => expect(LAYER[json.name], `${json.name} has no layer in this test`).toBeTypeOf('number'));

      it('imports @hpf packages only downward', () => {
        const own = LAYER[json.name]!;
        for (const file of sourceFiles(join(dir, 'src'))) {
          // A package may import its own main entry by name (e.g. from its Node-only subpath).
          for (const dep of importedPackages(file).filter((d) => d.startsWith('@hpf/') && d !== json.name)) {
            expect(dep === '@hpf/testkit', `${file} imports the test-only @hpf/testkit`).toBe(false);
            const allowed = (LAYER[dep] ?? Infinity) < own || (EXTRA_ALLOWED[json.name] ?? []).includes(dep);
            expect(allowed, `${file} imports ${dep}, which is not below ${json.name}`).toBe(true);
            expect(ADAPTERS.includes(dep.slice(5)) && ADAPTERS.includes(json.name.slice(5)), `${file}: an adapter imports another adapter`).toBe(false);
          }
        }
      });

      it('imports @hpf packages only downward from test/ and bench/ too (the test helpers of @hpf/testkit allowed)', () => {
        const own = LAYER[json.name]!;
        for (const sub of OTHER_CODE_DIRS) {
          for (const file of sourceFiles(join(dir, sub))) {
            // a test may name a package that does not exist, to check the error for it
            for (const dep of importedPackages(file).filter((d) => d.startsWith('@hpf/') && d in LAYER && d !== json.name)) {
              const allowed = (LAYER[dep]! < own && (dep !== '@hpf/testkit' || ADAPTERS.includes(json.name.slice(5)))) || (EXTRA_ALLOWED[json.name] ?? []).includes(dep);
              expect(allowed, `${relative(root, file)} imports ${dep}, which is not below ${json.name}`).toBe(true);
              expect(ADAPTERS.includes(dep.slice(5)) && ADAPTERS.includes(json.name.slice(5)), `${relative(root, file)}: an adapter imports another adapter`).toBe(false);
            }
          }
        }
      });

      it("never reaches into another package's files by a relative path", () => {
        for (const sub of ['src', ...OTHER_CODE_DIRS]) {
          for (const file of sourceFiles(join(dir, sub))) {
            const found = crossPackageRelativeImports(file, dir);
            expect(found, `${relative(root, file)} imports another package's files by path: ${found.join(', ')}`).toEqual([]);
          }
        }
      });

      it('declares every package its sources import', () => {
        const declared = new Set([
          ...Object.keys(json.dependencies ?? {}),
          ...Object.keys(json.peerDependencies ?? {}),
          ...Object.keys(json.optionalDependencies ?? {}),
        ]);
        for (const file of sourceFiles(join(dir, 'src'))) {
          for (const dep of importedPackages(file)) {
            if (dep === json.name) continue;
            expect(declared.has(dep), `${file} imports ${dep}, missing from ${json.name}'s package.json`).toBe(true);
          }
        }
      });

      it('has a README', () => expect(existsSync(join(dir, 'README.md')), `${json.name} has no README.md`).toBe(true));
    });
  }
});
