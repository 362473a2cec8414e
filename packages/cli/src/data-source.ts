/**
 * `--data` resolution: `digits-det:quick` / `digits-det:full` (generated once into a cache folder)
 * or a COCO root with `train/` and `val/` sub-folders, each holding instances.json and its images.
 */
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PRESETS, writeDigitsDet } from '@hpf/digits-det';

export interface DataSource {
  /** What the user passed. */
  spec: string;
  trainDir: string;
  valDir: string;
}

export interface ResolveDataOptions {
  /** Where generated digits-det folders are kept (default ./runs/data). */
  cacheDir?: string;
  /** digits-det generation seed (default 0); the data does not change with the training seed. */
  dataSeed?: number;
  /** Log line when the set is generated. */
  log?: (line: string) => void;
}

const DIGITS_PREFIX = 'digits-det:';

export function resolveData(spec: string, options: ResolveDataOptions = {}): DataSource {
  const { cacheDir = 'runs/data', dataSeed = 0, log = () => {} } = options;
  if (spec.startsWith(DIGITS_PREFIX)) {
    const preset = spec.slice(DIGITS_PREFIX.length);
    if (preset !== 'quick' && preset !== 'full') throw new Error(`--data: unknown digits-det preset '${preset}' in '${spec}' (expected digits-det:quick or digits-det:full)`);
    const set = PRESETS[preset];
    // What shapes the set is in the name: a preset that changes never reuses a stale cached set.
    const dir = resolve(cacheDir, `digits-det-${preset}-${set.train}x${set.val}-side${set.minInkSide}-seed${dataSeed}`);
    if (!existsSync(join(dir, 'val', 'instances.json'))) {
      // Generate beside the target and rename, so concurrent runs never read a half-written set.
      const tmp = `${dir}.tmp-${process.pid}`;
      rmSync(tmp, { recursive: true, force: true });
      mkdirSync(resolve(cacheDir), { recursive: true });
      log(`generating digits-det ${preset} (seed ${dataSeed}) into ${dir}`);
      writeDigitsDet(tmp, { preset: set, seed: dataSeed });
      try {
        renameSync(tmp, dir);
      } catch (error) {
        // Another process finished first: use its copy.
        rmSync(tmp, { recursive: true, force: true });
        if (!existsSync(join(dir, 'val', 'instances.json'))) throw error;
      }
    }
    return { spec, trainDir: join(dir, 'train'), valDir: join(dir, 'val') };
  }
  const root = resolve(spec);
  const trainDir = join(root, 'train');
  const valDir = join(root, 'val');
  for (const d of [trainDir, valDir]) {
    if (!existsSync(join(d, 'instances.json'))) {
      throw new Error(`--data: ${d}/instances.json not found; --data takes digits-det:quick, digits-det:full or a folder with train/ and val/ COCO sub-folders`);
    }
  }
  return { spec, trainDir, valDir };
}
