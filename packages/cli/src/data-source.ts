/**
 * `--data` resolution: `digits-det:quick` / `digits-det:full` (generated once into a cache folder);
 * a COCO root with `train/` and `val/` sub-folders, each holding instances.json and its images;
 * a COCO-2017 root (`annotations/instances_{train,val}2017.json` beside `train2017/`, `val2017/`);
 * or explicit files (`--train-json/--train-images/--val-json/--val-images`, kept in the spec as a
 * JSON object so a run folder records where its data came from).
 */
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { relative, join, resolve } from 'node:path';
import { PRESETS, writeDigitsDet } from '@hpf/digits-det';
import { readCocoDataset, type CocoDataset } from '@hpf/data';

/** One split: its annotation file and the folder its `file_name`s are relative to. */
export interface CocoSplit {
  annotationFile: string;
  imageDir: string;
}

export interface DataSource {
  /** What the user passed. */
  spec: string;
  /** The folder holding instances.json (train/ and val/ layout), else the split's image folder. */
  trainDir: string;
  valDir: string;
  train: CocoSplit;
  val: CocoSplit;
}

/** The four explicit paths; all four are needed. */
export interface ExplicitSplits {
  trainJson: string;
  trainImages: string;
  valJson: string;
  valImages: string;
}

/** The --data spec for explicit files (absolute paths), as stored in a run's options. */
export function explicitDataSpec(paths: ExplicitSplits): string {
  return JSON.stringify({ train: { json: resolve(paths.trainJson), images: resolve(paths.trainImages) }, val: { json: resolve(paths.valJson), images: resolve(paths.valImages) } });
}

/** Reads one split with @hpf/data (validated, files checked). */
export function readSplit(split: CocoSplit): CocoDataset {
  return readCocoDataset(split.imageDir, { annotationFile: relative(split.imageDir, split.annotationFile) });
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function explicitSource(spec: string): DataSource {
  let parsed: unknown;
  try {
    parsed = JSON.parse(spec);
  } catch (error) {
    throw new Error(`--data: '${spec}' looks like a JSON object but does not parse: ${(error as Error).message}`, { cause: error });
  }
  const part = (name: 'train' | 'val'): CocoSplit => {
    const p = (parsed as Record<string, { json?: unknown; images?: unknown } | undefined>)[name];
    if (typeof p?.json !== 'string' || typeof p.images !== 'string') throw new Error(`--data: the JSON form needs {"train": {"json", "images"}, "val": {"json", "images"}}; '${name}' is missing or incomplete`);
    const annotationFile = resolve(p.json);
    const imageDir = resolve(p.images);
    if (!isFile(annotationFile)) throw new Error(`--${name}-json: ${annotationFile} is not a file`);
    if (!isDir(imageDir)) throw new Error(`--${name}-images: ${imageDir} is not a folder`);
    return { annotationFile, imageDir };
  };
  const train = part('train');
  const val = part('val');
  return { spec, trainDir: train.imageDir, valDir: val.imageDir, train, val };
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
    return folderSource(spec, join(dir, 'train'), join(dir, 'val'));
  }
  if (spec.trimStart().startsWith('{')) return explicitSource(spec);
  const root = resolve(spec);
  const trainDir = join(root, 'train');
  const valDir = join(root, 'val');
  if (isFile(join(trainDir, 'instances.json')) && isFile(join(valDir, 'instances.json'))) return folderSource(spec, trainDir, valDir);
  const coco2017 = {
    train: { annotationFile: join(root, 'annotations', 'instances_train2017.json'), imageDir: join(root, 'train2017') },
    val: { annotationFile: join(root, 'annotations', 'instances_val2017.json'), imageDir: join(root, 'val2017') },
  };
  if (isFile(coco2017.train.annotationFile) && isFile(coco2017.val.annotationFile) && isDir(coco2017.train.imageDir) && isDir(coco2017.val.imageDir)) {
    return { spec, trainDir: coco2017.train.imageDir, valDir: coco2017.val.imageDir, ...coco2017 };
  }
  throw new Error(
    `--data: ${root} has neither train/instances.json + val/instances.json nor the COCO-2017 layout ` +
      `(annotations/instances_train2017.json, annotations/instances_val2017.json, train2017/, val2017/); ` +
      `--data takes digits-det:quick, digits-det:full, either layout, or give the files with --train-json, --train-images, --val-json, --val-images`,
  );
}

function folderSource(spec: string, trainDir: string, valDir: string): DataSource {
  return {
    spec,
    trainDir,
    valDir,
    train: { annotationFile: join(trainDir, 'instances.json'), imageDir: trainDir },
    val: { annotationFile: join(valDir, 'instances.json'), imageDir: valDir },
  };
}
