/**
 * `@hpf/model/node`: model folders on disk. writeModel / exportDetector write one (nothing is
 * overwritten: the folder must be new or empty; files appear atomically, model.json last);
 * loadDetector also takes a folder path.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Detector } from '@hpf/dense';
// The main entry by the package's own name, so the built node entry shares it instead of a copy.
import {
  encodeDetector,
  loadDetector as loadFromUrlOrFiles,
  loadDetectorFrom,
  MODEL_JSON_FILE,
  urlSource,
  type EncodedModel,
  type EncodeOptions,
  type ExportedDetector,
  type ExportInfo,
  type ModelSource,
  type NamedBlob,
} from '@hpf/model';

export interface WrittenModel {
  dir: string;
  /** Written files (model.json last) with their sizes in bytes. */
  files: Array<{ path: string; bytes: number }>;
}

async function writeAtomic(path: string, data: Uint8Array | string): Promise<number> {
  const temp = `${path}.tmp-${randomBytes(6).toString('hex')}`;
  try {
    await writeFile(temp, data);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  return typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
}

/** Writes an encoded model into `outDir`, which must not exist or be empty. */
export async function writeModel(model: EncodedModel, outDir: string): Promise<WrittenModel> {
  const dir = resolve(outDir);
  const existing = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw new Error(`writeModel: cannot use '${dir}': ${error.message}`, { cause: error });
  });
  if (existing.length > 0) throw new Error(`writeModel: '${dir}' is not empty (${existing.slice(0, 3).join(', ')}${existing.length > 3 ? ', ...' : ''}); choose a new folder, nothing was written`);
  await mkdir(dir, { recursive: true });
  const files: WrittenModel['files'] = [];
  for (const shard of model.shards) files.push({ path: join(dir, shard.path), bytes: await writeAtomic(join(dir, shard.path), shard.data) });
  const json = JSON.stringify(model.modelJson);
  files.push({ path: join(dir, MODEL_JSON_FILE), bytes: await writeAtomic(join(dir, MODEL_JSON_FILE), json) });
  return { dir, files };
}

/**
 * encodeDetector + writeModel: the model folder of a trained detector (its BatchNorms are folded
 * in place, so the detector is inference-only afterwards).
 */
export async function exportDetector(detector: Detector, info: ExportInfo, outDir: string, options: EncodeOptions = {}): Promise<WrittenModel> {
  const dir = resolve(outDir);
  const existing = await readdir(dir).catch(() => []);
  // Checked before encoding too: the fold changes the detector, and the error must come first.
  if (existing.length > 0) throw new Error(`exportDetector: '${dir}' is not empty; choose a new folder, nothing was written`);
  return writeModel(await encodeDetector(detector, info, options), dir);
}

/** A model folder on disk (the folder, or its model.json). */
export function folderSource(path: string): ModelSource {
  const given = resolve(path);
  const json = given.endsWith('.json') ? given : join(given, MODEL_JSON_FILE);
  const dir = json.slice(0, json.lastIndexOf('/'));
  const read = async (file: string) => {
    try {
      return await readFile(file);
    } catch (error) {
      const exists = await stat(file).then(() => true, () => false);
      throw new Error(`loadDetector: '${file}' ${exists ? 'cannot be read' : 'does not exist'}: ${(error as Error).message}`, { cause: error });
    }
  };
  return {
    description: dir,
    readModelJson: async () => (await read(json)).toString('utf8'),
    readFile: async (p) => {
      const bytes = await read(join(dir, p));
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    },
  };
}

/** loadDetector of the main entry, plus folder paths: http(s) URLs are fetched, anything else is a path. */
export async function loadDetector(source: string | URL | Iterable<NamedBlob>): Promise<ExportedDetector> {
  if (source instanceof URL) return loadDetectorFrom(source.protocol === 'file:' ? folderSource(source.pathname) : urlSource(source));
  if (typeof source === 'string') return loadDetectorFrom(/^https?:\/\//.test(source) ? urlSource(source) : folderSource(source));
  return loadFromUrlOrFiles(source);
}
