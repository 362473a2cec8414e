import * as tf from '@tensorflow/tfjs-core';
import { foldBatchNorms, getStateTensors } from '@hpf/nn';
import { type Detector } from '@hpf/dense';
import { MODEL_FORMAT, MODEL_FORMAT_VERSION, PIXELS_01, type DetectorClass, type DetectorDescriptor, type ModelJson, type Normalization } from './format.js';

/** What the descriptor records besides the weights. */
export interface ExportInfo {
  /** Registry name ('atss', ...). */
  detector: string;
  /** The factory options the detector was built with. */
  options: Record<string, unknown>;
  /** Label i is classes[i]; as many as the detector's numClasses. */
  classes: DetectorClass[];
  inputSize: number;
  /** Default PIXELS_01 (what `hpf train` / `hpf predict` use). */
  normalization?: Normalization;
}

export interface EncodeOptions {
  /** Maximum bytes per weights shard. Default 4 MiB (tfjs-converter's). */
  shardBytes?: number;
  /** Recorded as model.json's generatedBy. */
  generatedBy?: string;
}

export interface EncodedModel {
  modelJson: ModelJson;
  /** The shards named in modelJson.weightsManifest, in order. */
  shards: Array<{ path: string; data: Uint8Array }>;
}

/**
 * The exported form of a trained detector: its eval-mode BatchNorms are folded into their convs
 * (in place: the detector is inference-only afterwards), every parameter must be finite, and the
 * weights are encoded in TF.js' weights-manifest layout. Writes nothing: `@hpf/model/node`'s
 * writeModel / exportDetector put it in a folder.
 */
export async function encodeDetector(detector: Detector, info: ExportInfo, options: EncodeOptions = {}): Promise<EncodedModel> {
  const where = 'encodeDetector';
  const shardBytes = options.shardBytes ?? 4 * 1024 * 1024;
  if (!Number.isInteger(shardBytes) || shardBytes < 4) throw new Error(`${where}: option 'shardBytes' must be an integer >= 4, got ${shardBytes}`);
  const numClasses = (detector.config as { numClasses?: unknown }).numClasses;
  if (info.classes.length !== numClasses) {
    throw new Error(`${where}: ${info.classes.length} class names for a detector of ${String(numClasses)} classes`);
  }
  if (!Number.isInteger(info.inputSize) || info.inputSize <= 0) throw new Error(`${where}: inputSize must be a positive integer, got ${info.inputSize}`);
  const state = getStateTensors(detector.model);
  const nonFinite = Object.entries(state)
    .filter(([, t]) => tf.tidy(() => tf.logicalNot(tf.all(tf.isFinite(t))).dataSync()[0] === 1))
    .map(([name]) => name);
  if (nonFinite.length > 0) {
    throw new Error(`${where}: parameters with NaN or infinite values cannot be exported: ${nonFinite.slice(0, 5).join(', ')}${nonFinite.length > 5 ? ` and ${nonFinite.length - 5} more` : ''}`);
  }

  foldBatchNorms(detector.model);
  const { data, specs } = await tf.io.encodeWeights(getStateTensors(detector.model));
  const bytes = new Uint8Array(data);
  const count = Math.max(1, Math.ceil(bytes.byteLength / shardBytes));
  const shards = Array.from({ length: count }, (_, i) => ({
    path: `group1-shard${i + 1}of${count}.bin`,
    data: bytes.subarray(i * shardBytes, Math.min(bytes.byteLength, (i + 1) * shardBytes)),
  }));
  const descriptor: DetectorDescriptor = {
    formatVersion: MODEL_FORMAT_VERSION,
    detector: info.detector,
    options: JSON.parse(JSON.stringify(info.options)) as Record<string, unknown>,
    config: JSON.parse(JSON.stringify(detector.config)) as Record<string, unknown>,
    classes: info.classes.map((c) => ({ id: c.id, name: c.name })),
    inputSize: info.inputSize,
    normalization: info.normalization ?? PIXELS_01,
    batchNormFolded: true,
  };
  return {
    modelJson: {
      format: MODEL_FORMAT,
      generatedBy: options.generatedBy ?? '@hpf/model',
      convertedBy: null,
      modelTopology: null,
      weightsManifest: [{ paths: shards.map((s) => s.path), weights: specs }],
      userDefinedMetadata: { hpf: descriptor },
    },
    shards,
  };
}
