/**
 * Which code produced a result: @hpf/cli's version and, when it runs from a git checkout, the
 * commit. A bench resumed over sessions can span commits; its report says which runs came from which.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** @hpf/cli's version, from its package.json (one folder above src/ and dist/ alike). */
export function cliVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export interface CodeVersion {
  version: string;
  /** Short commit of the checkout this package runs from, `-dirty` when tracked files differ from it; null outside git. */
  commit: string | null;
}

/** `dir`: where this package's code runs from (its dist/ or src/ folder). */
export function codeVersion(dir = fileURLToPath(new URL('.', import.meta.url))): CodeVersion {
  const git = (...args: string[]): string => execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  let commit: string | null = null;
  // Installed from npm into someone's project, the surrounding git checkout is theirs, not this code's.
  if (dir.split(/[\\/]/).includes('node_modules')) return { version: cliVersion(), commit };
  try {
    commit = git('rev-parse', '--short=12', 'HEAD');
    if (git('status', '--porcelain', '--untracked-files=no').length > 0) commit += '-dirty';
  } catch {
    // An npm install (no .git) or no git binary: the version alone names the code.
  }
  return { version: cliVersion(), commit };
}
