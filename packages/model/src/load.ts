import * as tf from '@tensorflow/tfjs-core';
import { foldBatchNorms, loadStateDict, weightByteLength } from '@hpf/nn';
import { detectorFactory } from './detectors.js';
import { ExportedDetector } from './exported-detector.js';
import { MODEL_JSON_FILE, parseModelJson } from './format.js';

/** Where the files of a model folder come from (paths are relative to model.json). */
export interface ModelSource {
  /** Shown in errors: the folder, URL or file list. */
  readonly description: string;
  readModelJson(): Promise<string>;
  readFile(path: string): Promise<ArrayBuffer>;
}

/** A file the user picked (a browser File, or anything with a name and an arrayBuffer()). */
export interface NamedBlob {
  readonly name: string;
  arrayBuffer(): Promise<ArrayBuffer>;
  text(): Promise<string>;
}

type Fetch = (url: string) => Promise<{ ok: boolean; status: number; statusText: string; text(): Promise<string>; arrayBuffer(): Promise<ArrayBuffer> }>;

/**
 * model.json's URL for a model given as a URL of model.json or of its folder. Relative URLs are
 * resolved against the page (`location.href`) where there is one.
 */
export function modelJsonUrl(url: string | URL): URL {
  const base = (globalThis as { location?: { href?: string } }).location?.href;
  let resolved: URL;
  try {
    resolved = base === undefined ? new URL(url) : new URL(url, base);
  } catch {
    throw new Error(`loadDetector: '${String(url)}' is not a URL${base === undefined ? ' (in Node, give a folder to loadDetector from @hpf/model/node, or an http(s) URL)' : ''}`);
  }
  if (!resolved.pathname.endsWith('.json')) resolved = new URL(`${resolved.pathname.replace(/\/?$/, '/')}${MODEL_JSON_FILE}${resolved.search}`, resolved);
  return resolved;
}

/** A model served over HTTP(S), read with fetch (the global one by default). */
export function urlSource(url: string | URL, fetchImpl: Fetch = globalThis.fetch as unknown as Fetch): ModelSource {
  const json = modelJsonUrl(url);
  const get = async (target: URL) => {
    const response = await fetchImpl(target.href).catch((error: unknown) => {
      throw new Error(`loadDetector: cannot fetch ${target.href}: ${(error as Error).message}`, { cause: error });
    });
    if (!response.ok) throw new Error(`loadDetector: ${target.href} answered ${response.status} ${response.statusText}`);
    return response;
  };
  return {
    description: json.href,
    readModelJson: async () => (await get(json)).text(),
    readFile: async (path) => (await get(new URL(path, json))).arrayBuffer(),
  };
}

/** A model given as its files (model.json and the shards), e.g. a browser's file picker. */
export function filesSource(files: Iterable<NamedBlob>): ModelSource {
  const byName = new Map<string, NamedBlob>();
  for (const f of files) byName.set(f.name.split('/').pop()!, f);
  const description = `the files [${[...byName.keys()].join(', ')}]`;
  const file = (name: string) => {
    const found = byName.get(name.split('/').pop()!);
    if (found === undefined) throw new Error(`loadDetector: ${description} lack '${name}' (pick model.json and every .bin file of the model folder)`);
    return found;
  };
  return { description, readModelJson: () => file(MODEL_JSON_FILE).text(), readFile: (path) => file(path).arrayBuffer() };
}

/**
 * Reads an exported model: checks model.json, rebuilds the detector from its descriptor (folding
 * its BatchNorms as the export did), checks every shard's size, then loads the weights (strict:
 * every name and shape must match). Nothing is built before model.json checks out.
 */
export async function loadDetectorFrom(source: ModelSource): Promise<ExportedDetector> {
  const where = `loadDetector(${source.description})`;
  let parsed: unknown;
  const text = await source.readModelJson();
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`${where}: model.json is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  const modelJson = parseModelJson(parsed, `${where}: model.json`);
  const { descriptor, manifest } = { descriptor: modelJson.userDefinedMetadata.hpf, manifest: modelJson.weightsManifest };
  const create = await detectorFactory(descriptor.detector, where);

  const specs: tf.io.WeightsManifestEntry[] = [];
  const chunks: Uint8Array[] = [];
  for (const group of manifest) {
    const files = await Promise.all(group.paths.map(async (path) => new Uint8Array(await source.readFile(path))));
    const expected = group.weights.reduce((sum, spec) => sum + weightByteLength(spec), 0);
    const found = files.reduce((sum, f) => sum + f.byteLength, 0);
    if (found !== expected) {
      throw new Error(`${where}: the shards [${group.paths.join(', ')}] hold ${found} bytes, the manifest needs ${expected} (a truncated or foreign file)`);
    }
    specs.push(...group.weights);
    chunks.push(...files);
  }
  const data = new Uint8Array(chunks.reduce((sum, c) => sum + c.byteLength, 0));
  chunks.reduce((offset, c) => (data.set(c, offset), offset + c.byteLength), 0);

  const detector = create(descriptor.options);
  try {
    if (descriptor.batchNormFolded) foldBatchNorms(detector.model);
    const tensors = tf.io.decodeWeights(data.buffer, specs);
    try {
      loadStateDict(detector.model, tensors);
    } catch (error) {
      throw new Error(`${where}: ${(error as Error).message}`, { cause: error });
    } finally {
      tf.dispose(Object.values(tensors));
    }
  } catch (error) {
    detector.dispose();
    throw error;
  }
  detector.model.eval();
  return new ExportedDetector(detector, descriptor);
}

/**
 * Loads a model written by `hpf export`: from a URL (of the folder or of its model.json; fetch,
 * in browsers and Node) or from its files (a browser's file picker). `@hpf/model/node`'s
 * loadDetector also takes a folder path.
 */
export async function loadDetector(source: string | URL | Iterable<NamedBlob>): Promise<ExportedDetector> {
  return loadDetectorFrom(typeof source === 'string' || source instanceof URL ? urlSource(source) : filesSource(source));
}
