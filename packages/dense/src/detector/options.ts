import { resolveHpfOptions, type HpfOptions, type PublishedFocus } from '@hpf/loss';
import { type BackboneOptions, type BackbonePreset, resolveBackboneConfig, checkOptionKeys } from '@hpf/nn';
import { resolvePostprocessOptions, type PostprocessOptions } from '../postprocess/select-detections.js';

/** Options every dense-detector factory accepts (adapters add their own on top). */
export interface DenseDetectorOptions {
  /** Foreground classes (background is implicit: sigmoid classifiers). */
  numClasses: number;
  /** Backbone preset or options. */
  backbone?: BackbonePreset | BackboneOptions;
  /**
   * Classification loss: false = the published focal loss (mode 'off'), true = HPF centred on the
   * published gamma/alpha, or HPF options (see @hpf/loss `resolveHpfOptions`). Default false.
   */
  hpf?: boolean | Partial<HpfOptions>;
  /** Seed of every weight initialisation (default 0). */
  seed?: number;
  /** FPN output channels. */
  neckChannels?: number;
  /** Channels of the head towers. */
  featChannels?: number;
  /** 3x3 convs per head tower. */
  stackedConvs?: number;
  /** Post-processing (score threshold, pre-NMS top-k, NMS IoU, detections per image). */
  test?: PostprocessOptions;
}

/** Adapter defaults for the common options (the published values, or the documented deviation). */
export interface DenseDefaults {
  backbone: BackbonePreset | BackboneOptions;
  neckChannels: number;
  featChannels: number;
  stackedConvs: number;
  test: Required<PostprocessOptions>;
  /** The published focal-loss parameters HPF centres on. */
  focus: PublishedFocus;
}

export interface ResolvedDenseOptions {
  numClasses: number;
  backbone: BackbonePreset | BackboneOptions;
  hpf: HpfOptions;
  seed: number;
  neckChannels: number;
  featChannels: number;
  stackedConvs: number;
  test: Required<PostprocessOptions>;
}

export const DENSE_OPTION_KEYS = ['numClasses', 'backbone', 'hpf', 'seed', 'neckChannels', 'featChannels', 'stackedConvs', 'test'] as const;

/**
 * Validates a factory's options: unknown keys (outside the common ones and `extraKeys`) are an
 * error naming the key; the common options are resolved against the adapter's defaults.
 */
export function resolveDetectorOptions(
  where: string,
  options: DenseDetectorOptions,
  defaults: DenseDefaults,
  extraKeys: readonly string[] = [],
): ResolvedDenseOptions {
  if (options === null || typeof options !== 'object') throw new Error(`${where}: options must be an object`);
  checkOptionKeys(where, options, [...DENSE_OPTION_KEYS, ...extraKeys]);
  const { numClasses } = options;
  if (!Number.isInteger(numClasses) || numClasses < 1) {
    throw new Error(`${where}: option 'numClasses' must be a positive integer, got ${String(numClasses)}`);
  }
  const positive = (name: 'neckChannels' | 'featChannels' | 'stackedConvs', allowZero = false): number => {
    const value = options[name] ?? defaults[name];
    if (!Number.isInteger(value) || value < (allowZero ? 0 : 1)) {
      throw new Error(`${where}: option '${name}' must be a ${allowZero ? 'non-negative' : 'positive'} integer, got ${String(value)}`);
    }
    return value;
  };
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new Error(`${where}: option 'seed' must be an integer in [0, 2^32), got ${String(seed)}`);
  const backbone = options.backbone ?? defaults.backbone;
  resolveBackboneConfig(backbone); // throws naming the bad backbone option
  const test = resolvePostprocessOptions({ ...defaults.test, ...(options.test ?? {}) });
  return {
    numClasses,
    backbone,
    hpf: resolveHpfOptions(options.hpf ?? false, defaults.focus),
    seed,
    neckChannels: positive('neckChannels'),
    featChannels: positive('featChannels'),
    stackedConvs: positive('stackedConvs', true),
    test,
  };
}
