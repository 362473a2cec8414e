// The main entries a web page may import must bundle for the browser: esbuild with platform
// 'browser' (which honours the packages' "browser" fields, as tfjs' own do for Node modules) fails
// on any Node built-in (`node:fs`, `os`, ...) reachable from the entry, and this test fails with
// esbuild's message naming the importing file. Sources are bundled, as vitest tests them.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { build, type Message, type Plugin } from 'esbuild';
import { describe, expect, it } from 'vitest';

const root = new URL('..', import.meta.url).pathname;
const packagesDir = join(root, 'packages');
const workspace = new Set(readdirSync(packagesDir).filter((d) => existsSync(join(packagesDir, d, 'package.json'))));

// `@hpf/x` -> packages/x/src/index.ts, `@hpf/x/y` -> packages/x/src/y.ts (as vitest.config.ts).
const workspaceSources: Plugin = {
  name: 'hpf-workspace-sources',
  setup(b) {
    b.onResolve({ filter: /^@hpf\/[a-z-]+(\/[a-z-]+)?$/ }, (args) => {
      const [, name, sub] = /^@hpf\/([a-z-]+)(?:\/([a-z-]+))?$/.exec(args.path)!;
      if (!workspace.has(name!)) return undefined;
      return { path: join(packagesDir, name!, 'src', `${sub ?? 'index'}.ts`) };
    });
  },
};

/** esbuild's errors for a browser bundle of `entry` (an import specifier). */
async function browserBundleErrors(entry: string): Promise<string[]> {
  try {
    await build({
      stdin: { contents: `export * from '${entry}';`, resolveDir: root, loader: 'ts' },
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      logLevel: 'silent',
      plugins: [workspaceSources],
    });
    return [];
  } catch (error) {
    const errors = (error as { errors?: Message[] }).errors ?? [];
    if (errors.length === 0) throw error;
    return errors.map((e) => `${e.text} (${e.location ? `${e.location.file}:${e.location.line}` : 'no location'})`);
  }
}

const ADAPTERS = ['retinanet', 'fcos', 'atss', 'foveabox', 'freeanchor', 'paa', 'gfl', 'vfnet', 'tood'];
const BROWSER_ENTRIES = [...ADAPTERS.map((a) => `@hpf/${a}`), '@hpf/loss', '@hpf/nn', '@hpf/dense', '@hpf/engine', '@hpf/data/letterbox', '@hpf/model'];

describe('browser bundles (esbuild, platform browser)', () => {
  for (const entry of BROWSER_ENTRIES) {
    it(`${entry} imports no Node built-in`, async () => {
      expect(await browserBundleErrors(entry)).toEqual([]);
    }, 120_000);
  }

  it('the check fails on a Node built-in: @hpf/nn/node (node:fs) does not bundle', async () => {
    const errors = await browserBundleErrors('@hpf/nn/node');
    expect(errors.some((e) => /Could not resolve "node:(fs\/promises|crypto|path)"/.test(e) && e.includes('file-handler.ts'))).toBe(true);
  }, 120_000);
});
