/**
 * Where a run's weights start: `--backbone-weights` (pretrained ResNet, safetensors) or
 * `--load-from` (a whole detector: safetensors in torch layout, or an hpf checkpoint / run folder),
 * and the settings that go with pretrained weights: mmdetection's fine-tuning (frozenStages 1,
 * normEval true) and the ImageNet input normalisation, held in the backbone so that evaluation and
 * prediction of the run apply it too. The loading itself is @hpf/nn's.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isBatchCounter, loadTensors, PRETRAINED_FINE_TUNE, type ResNet } from '@hpf/nn';
import { type Detector } from '@hpf/dense';
import { loadBackboneWeights, loadModelWeights } from '@hpf/nn/node';
import { isCheckpointFile, readCheckpoint, readCheckpointMeta } from '@hpf/engine/node';

export interface InitialWeightsOptions {
  backbone: string;
  /** A safetensors file with an ImageNet-pretrained ResNet (torchvision or timm names). */
  backboneWeights?: string;
  /** A whole detector: `.safetensors` (torch layout) or an hpf checkpoint (a file or a run folder). */
  loadFrom?: string;
  /** Default: 1 with pretrained weights, else -1 (mmdetection). */
  frozenStages?: number;
  /** Default: true with pretrained weights, else false (mmdetection). */
  normEval?: boolean;
  /**
   * ImageNet normalisation of the 0..1 images inside the backbone. Default: 'imagenet' with
   * --backbone-weights or a .safetensors --load-from, the checkpoint's own with an hpf checkpoint,
   * else 'none'.
   */
  inputNorm?: 'imagenet' | 'none';
}

/** `--load-from` as a file: a run folder means its checkpoint.hpf. */
export function loadFromPath(path: string): string {
  return existsSync(path) && statSync(path).isDirectory() ? join(path, 'checkpoint.hpf') : path;
}

/** Fails before any work when a weights file named on the command line is absent or both are given. */
export function checkInitialWeights(o: InitialWeightsOptions): void {
  if (o.backboneWeights !== undefined && o.loadFrom !== undefined) {
    throw new Error('--backbone-weights and --load-from exclude each other: --load-from sets every weight, the backbone included');
  }
  if (o.backboneWeights !== undefined && !existsSync(o.backboneWeights)) throw new Error(`--backbone-weights: ${o.backboneWeights} not found`);
  if (o.loadFrom !== undefined && !existsSync(loadFromPath(o.loadFrom))) throw new Error(`--load-from: ${loadFromPath(o.loadFrom)} not found`);
  if (o.frozenStages !== undefined && !(Number.isInteger(o.frozenStages) && o.frozenStages >= -1 && o.frozenStages <= 4)) {
    throw new Error(`--frozen-stages must be an integer in [-1, 4], got ${o.frozenStages}`);
  }
  if (o.inputNorm !== undefined && o.inputNorm !== 'imagenet' && o.inputNorm !== 'none') {
    throw new Error(`--input-norm must be 'imagenet' or 'none', got ${JSON.stringify(o.inputNorm)}`);
  }
}

/**
 * The adapters' `backbone` option: the preset name alone when nothing is frozen or kept in eval
 * mode (so runs without pretrained weights keep their options unchanged), else the preset with
 * `frozenStages` / `normEval`, defaulting to mmdetection's fine-tuning values when weights are loaded.
 */
export function backboneOption(o: InitialWeightsOptions): string | BackboneSetting {
  const pretrained = o.backboneWeights !== undefined || o.loadFrom !== undefined;
  const frozenStages = o.frozenStages ?? (pretrained ? PRETRAINED_FINE_TUNE.frozenStages : -1);
  const normEval = o.normEval ?? (pretrained ? PRETRAINED_FINE_TUNE.normEval : false);
  const inputNorm = o.inputNorm ?? defaultInputNorm(o);
  if (frozenStages === -1 && !normEval && inputNorm === 'none') return o.backbone;
  return { preset: o.backbone, frozenStages, normEval, ...(inputNorm === 'imagenet' ? { inputNorm } : {}) };
}

/** @hpf/nn's BackboneOptions as the CLI fills them (a type alias: it is a plain options record). */
export type BackboneSetting = {
  preset: string;
  frozenStages: number;
  normEval: boolean;
  inputNorm?: 'imagenet';
};

function defaultInputNorm(o: InitialWeightsOptions): 'imagenet' | 'none' {
  if (o.backboneWeights !== undefined) return 'imagenet';
  if (o.loadFrom === undefined) return 'none';
  const path = loadFromPath(o.loadFrom);
  if (!existsSync(path) || !isCheckpointFile(path)) return 'imagenet';
  // The run the checkpoint comes from saw its images normalised (or not): keep it so.
  const backbone = readCheckpointMeta<{ detectorOptions?: { backbone?: unknown } }>(path).detectorOptions?.backbone;
  return typeof backbone === 'object' && backbone !== null && (backbone as { inputNorm?: unknown }).inputNorm === 'imagenet' ? 'imagenet' : 'none';
}

/** Loads the weights the options name into a freshly built detector; returns what it did, for the log. */
export function applyInitialWeights(detector: Detector, o: InitialWeightsOptions): string | undefined {
  if (o.backboneWeights !== undefined) {
    const backbone = detector.model.child<ResNet>('backbone');
    const report = loadBackboneWeights(backbone, o.backboneWeights);
    const under = report.prefix === '' ? '' : ` under '${report.prefix}'`;
    return `backbone weights: ${report.loaded.length} tensors from ${o.backboneWeights}${under} (${report.ignored.length} ignored: classifier, num_batches_tracked, other parts)`;
  }
  if (o.loadFrom !== undefined) {
    const path = loadFromPath(o.loadFrom);
    if (isCheckpointFile(path)) {
      const { tensors } = readCheckpoint<unknown>(path);
      const report = loadTensors(
        detector.model,
        {
          source: path,
          layout: 'hwio',
          shapes: new Map([...tensors].map(([name, t]) => [name, t.shape])),
          read: (name) => tensors.get(name)!.values,
        },
        // the optimizer's momentum buffers (and nothing else) may be left out
        { prefix: 'model/', ignore: (name) => name.startsWith('momentum/'), target: `the ${o.backbone} detector` },
      );
      return `detector weights: ${report.loaded.length} tensors from the checkpoint ${path}`;
    }
    const report = loadModelWeights(detector.model, path, `the ${o.backbone} detector`);
    return `detector weights: ${report.loaded.length} tensors from ${path}${report.ignored.some(isBatchCounter) ? ' (num_batches_tracked ignored)' : ''}`;
  }
  return undefined;
}
