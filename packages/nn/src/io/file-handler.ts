// Node only (node:fs, node:crypto): exported from '@hpf/nn/node', never from the main entry.
import * as tf from '@tensorflow/tfjs-core';
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { checkOptionKeys } from '../layers/options.js';
import { DEFAULT_SHARD_BYTES, MODEL_JSON, weightByteLength, type FileHandlerOptions } from './weights-format.js';

/** Writes `data` next to `path` and renames it over `path`, so readers never see a partial file. */
export async function writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
  const temp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const handle = await open(temp, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

function toArrayBuffer(data: tf.io.WeightData): ArrayBuffer {
  return Array.isArray(data) ? tf.io.CompositeArrayBuffer.join(data) : data;
}

async function readManifestPaths(modelJsonPath: string): Promise<string[]> {
  try {
    const json = JSON.parse(await readFile(modelJsonPath, 'utf8')) as tf.io.ModelJSON;
    return (json.weightsManifest ?? []).flatMap((group) => group.paths);
  } catch {
    return [];
  }
}

/**
 * A tf.io.IOHandler that keeps a model in a directory as `model.json` (weightsManifest) plus
 * binary shards, the tfjs format, using node:fs only (no tfjs-node).
 *
 * Save is atomic: shards get content-hashed names, are each written to a temp file and renamed,
 * then model.json is replaced the same way; only then are shards of the previous save deleted.
 * A crash at any point leaves either the old or the new model readable.
 *
 * Load validates before decoding: a missing model.json or shard, or a shard of the wrong size,
 * is an Error naming the file.
 */
export function fileIOHandler(directory: string, options: FileHandlerOptions = {}): tf.io.IOHandler {
  checkOptionKeys('fileIOHandler', options, ['shardBytes']);
  const shardBytes = options.shardBytes ?? DEFAULT_SHARD_BYTES;
  if (!Number.isInteger(shardBytes) || shardBytes < 4) {
    throw new Error(`fileIOHandler: option 'shardBytes' must be an integer >= 4, got ${shardBytes}`);
  }
  const dir = resolve(directory);
  const modelJsonPath = join(dir, MODEL_JSON);

  const save = async (artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> => {
    const specs = artifacts.weightSpecs ?? [];
    const data = new Uint8Array(artifacts.weightData === undefined ? new ArrayBuffer(0) : toArrayBuffer(artifacts.weightData));
    await mkdir(dir, { recursive: true });
    const token = createHash('sha256').update(data).digest('hex').slice(0, 12);
    const numShards = Math.max(1, Math.ceil(data.byteLength / shardBytes));
    const paths: string[] = [];
    for (let i = 0; i < numShards; i++) {
      const name = `group1-shard${i + 1}of${numShards}-${token}.bin`;
      await writeFileAtomic(join(dir, name), data.subarray(i * shardBytes, Math.min(data.byteLength, (i + 1) * shardBytes)));
      paths.push(name);
    }
    const previousPaths = await readManifestPaths(modelJsonPath);
    const modelJson: Record<string, unknown> = {
      format: artifacts.format ?? 'hpf-weights',
      generatedBy: artifacts.generatedBy ?? '@hpf/nn',
      convertedBy: artifacts.convertedBy ?? null,
      modelTopology: artifacts.modelTopology ?? null,
      weightsManifest: [{ paths, weights: specs }],
    };
    if (artifacts.userDefinedMetadata !== undefined) modelJson.userDefinedMetadata = artifacts.userDefinedMetadata;
    await writeFileAtomic(modelJsonPath, new TextEncoder().encode(JSON.stringify(modelJson)));
    for (const old of previousPaths) {
      if (!paths.includes(old)) await unlink(join(dir, old)).catch(() => undefined);
    }
    return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
  };

  const load = async (): Promise<tf.io.ModelArtifacts> => {
    let text: string;
    try {
      text = await readFile(modelJsonPath, 'utf8');
    } catch (error) {
      throw new Error(`cannot read weights manifest '${modelJsonPath}': ${(error as Error).message}`, { cause: error });
    }
    let json: tf.io.ModelJSON;
    try {
      json = JSON.parse(text) as tf.io.ModelJSON;
    } catch (error) {
      throw new Error(`weights manifest '${modelJsonPath}' is not valid JSON: ${(error as Error).message}`, { cause: error });
    }
    if (!Array.isArray(json.weightsManifest)) {
      throw new Error(`weights manifest '${modelJsonPath}' has no 'weightsManifest' array`);
    }
    const specs: tf.io.WeightsManifestEntry[] = [];
    const chunks: Uint8Array[] = [];
    for (const [g, group] of json.weightsManifest.entries()) {
      const expected = group.weights.reduce((sum, spec) => sum + weightByteLength(spec), 0);
      const files: Uint8Array[] = [];
      for (const path of group.paths) {
        const file = resolve(dirname(modelJsonPath), path);
        try {
          files.push(new Uint8Array(await readFile(file)));
        } catch (error) {
          const exists = await stat(file).then(() => true, () => false);
          throw new Error(`weights shard '${file}' listed in '${modelJsonPath}' ${exists ? 'cannot be read' : 'is missing'}: ${(error as Error).message}`, { cause: error });
        }
      }
      const found = files.reduce((sum, f) => sum + f.byteLength, 0);
      if (found !== expected) {
        const culprit = findWrongShard(files.map((f) => f.byteLength));
        const file = resolve(dirname(modelJsonPath), group.paths[culprit] ?? '?');
        throw new Error(
          `weights shard '${file}' is ${found < expected ? 'truncated' : 'too long'}: group ${g + 1} of '${modelJsonPath}' ` +
            `needs ${expected} bytes for ${group.weights.length} weights across ${group.paths.length} file(s), found ${found}`,
        );
      }
      specs.push(...group.weights);
      chunks.push(...files);
    }
    const weightData = new Uint8Array(chunks.reduce((sum, c) => sum + c.byteLength, 0));
    let offset = 0;
    for (const chunk of chunks) {
      weightData.set(chunk, offset);
      offset += chunk.byteLength;
    }
    const artifacts: tf.io.ModelArtifacts = { weightSpecs: specs, weightData: weightData.buffer };
    if (json.modelTopology !== null && json.modelTopology !== undefined) artifacts.modelTopology = json.modelTopology;
    if (json.format !== undefined) artifacts.format = json.format;
    if (json.generatedBy !== undefined) artifacts.generatedBy = json.generatedBy;
    if (json.userDefinedMetadata !== undefined) artifacts.userDefinedMetadata = json.userDefinedMetadata;
    return artifacts;
  };

  return { save, load };
}

/**
 * Which shard of a group has the wrong size. tfjs sharding makes every shard but the last exactly
 * the shard size, so a shard shorter than the largest non-last one is the culprit; otherwise the
 * last one is.
 */
function findWrongShard(sizes: number[]): number {
  if (sizes.length <= 1) return 0;
  const nonLast = sizes.slice(0, -1);
  const full = Math.max(...nonLast);
  const short = nonLast.findIndex((s) => s !== full);
  return short >= 0 ? short : sizes.length - 1;
}
