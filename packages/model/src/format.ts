/**
 * The exported-model format: one `model.json` in TF.js' model JSON layout (`format`,
 * `generatedBy`, `weightsManifest` with binary shards beside it) whose `userDefinedMetadata.hpf`
 * is the detector descriptor. Any TF.js weights loader reads the weights; `loadDetector` reads the
 * descriptor, rebuilds the detector and loads them.
 */
import type * as tf from '@tensorflow/tfjs-core';

export const MODEL_FORMAT = 'hpf-detector';
/** Bumped whenever a reader of the previous version would misread a new file. */
export const MODEL_FORMAT_VERSION = 1;
export const MODEL_JSON_FILE = 'model.json';

/**
 * How an image becomes the network input, exactly as `hpf predict` and the training loader do:
 * keep-ratio resize (bilinear, half-pixel centres) into an inputSize x inputSize canvas, centred,
 * padded with `padValue`, then (pixel / divide - mean) / std per channel.
 */
export interface Normalization {
  resize: 'letterbox-bilinear';
  padValue: number;
  divide: number;
  mean: [number, number, number];
  std: [number, number, number];
}

/** What `hpf predict` and training use: pixels / 255, no mean or std. */
export const PIXELS_01: Normalization = { resize: 'letterbox-bilinear', padValue: 0, divide: 255, mean: [0, 0, 0], std: [1, 1, 1] };

export interface DetectorClass {
  /** The dataset's category id (COCO). */
  id: number;
  name: string;
}

export interface DetectorDescriptor {
  formatVersion: number;
  /** Registry name: 'atss', 'retinanet', ... */
  detector: string;
  /** The factory options the detector was built with (rebuilding it needs exactly these). */
  options: Record<string, unknown>;
  /** The detector's resolved configuration (`detector.config`), for reading. */
  config: Record<string, unknown>;
  /** Label i of the detector is classes[i]. */
  classes: DetectorClass[];
  /** Square network input, pixels. */
  inputSize: number;
  normalization: Normalization;
  /** True: eval-mode BatchNorms are folded into their convs (the loader folds the rebuilt model too). */
  batchNormFolded: boolean;
}

/** model.json: TF.js' model JSON with the descriptor in userDefinedMetadata.hpf. */
export interface ModelJson {
  format: typeof MODEL_FORMAT;
  generatedBy: string;
  convertedBy: null;
  modelTopology: null;
  weightsManifest: tf.io.WeightsManifestConfig;
  userDefinedMetadata: { hpf: DetectorDescriptor };
}

function fail(where: string, message: string): never {
  throw new Error(`${where}: ${message}`);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks a parsed model.json before anything is built from it; errors name `where` and the field. */
export function parseModelJson(json: unknown, where: string): ModelJson {
  if (!isObject(json)) fail(where, 'is not a JSON object');
  if (json.format !== MODEL_FORMAT) fail(where, `format is ${JSON.stringify(json.format)}, expected '${MODEL_FORMAT}' (a model folder written by 'hpf export')`);
  const manifest = json.weightsManifest;
  if (!Array.isArray(manifest) || manifest.some((g) => !isObject(g) || !Array.isArray(g.paths) || !Array.isArray(g.weights))) {
    fail(where, "has no valid 'weightsManifest' (groups of { paths, weights })");
  }
  const meta = isObject(json.userDefinedMetadata) ? json.userDefinedMetadata.hpf : undefined;
  if (!isObject(meta)) fail(where, "has no detector descriptor 'userDefinedMetadata.hpf'");
  const d = meta;
  if (d.formatVersion !== MODEL_FORMAT_VERSION) {
    fail(where, `format version ${JSON.stringify(d.formatVersion)} is not ${MODEL_FORMAT_VERSION}, the one this @hpf/model reads`);
  }
  if (typeof d.detector !== 'string' || d.detector === '') fail(where, "descriptor field 'detector' must be a detector name");
  if (!isObject(d.options)) fail(where, "descriptor field 'options' must be an object");
  if (!isObject(d.config)) fail(where, "descriptor field 'config' must be an object");
  if (!Array.isArray(d.classes) || d.classes.length === 0 || d.classes.some((c) => !isObject(c) || typeof c.name !== 'string' || !Number.isInteger(c.id))) {
    fail(where, "descriptor field 'classes' must be a non-empty list of { id, name }");
  }
  if (!Number.isInteger(d.inputSize) || (d.inputSize as number) <= 0) fail(where, "descriptor field 'inputSize' must be a positive integer");
  const n = d.normalization;
  if (
    !isObject(n) ||
    n.resize !== 'letterbox-bilinear' ||
    typeof n.padValue !== 'number' ||
    typeof n.divide !== 'number' || n.divide === 0 ||
    !Array.isArray(n.mean) || n.mean.length !== 3 ||
    !Array.isArray(n.std) || n.std.length !== 3 || n.std.some((s) => typeof s !== 'number' || s === 0)
  ) {
    fail(where, "descriptor field 'normalization' must be { resize: 'letterbox-bilinear', padValue, divide (non-zero), mean: [3], std: [3 non-zero] }");
  }
  if (typeof d.batchNormFolded !== 'boolean') fail(where, "descriptor field 'batchNormFolded' must be true or false");
  return json as unknown as ModelJson;
}
