/**
 * The detectors the `hpf` command knows: name -> lazily imported factory + the small-input
 * override. Each adapter is loaded with a dynamic `import()` so that a missing or broken adapter
 * makes only that detector unavailable (with an error naming it), never the whole command.
 */
import type { Detector } from '@hpf/fpn';

/** Options every adapter factory accepts (the common dense-detector options of @hpf/fpn). */
export interface CommonDetectorOptions {
  numClasses: number;
  hpf: boolean | Record<string, unknown>;
  seed: number;
  /** A preset name, or @hpf/fpn's BackboneOptions (e.g. with frozenStages / normEval). */
  backbone?: string | Record<string, unknown>;
  neckChannels?: number;
  featChannels?: number;
  stackedConvs?: number;
  [option: string]: unknown;
}

export type DetectorFactory = (options: CommonDetectorOptions) => Detector;

export interface DetectorEntry {
  /** Loads the adapter and returns its factory. */
  load: () => Promise<DetectorFactory>;
  /**
   * Object-size options for small inputs (digits-det quick, 128 px): the published prior sizes put
   * almost every positive on P3 there. Applied to BOTH hpf modes, so the comparison stays paired.
   */
  smallInput: Record<string, unknown>;
  /** Why the override is what it is (printed by `hpf detectors`). */
  smallInputNote: string;
  /**
   * Options that follow the run's schedule, for detectors whose training depends on progress
   * (TOOD's ATSS warm-up is a fraction of the total epochs). Applied to both hpf modes.
   */
  scheduleOptions?: (schedule: { epochs: number }) => Record<string, unknown>;
}

/** A detector that changes its training with progress (TOOD); the trainer calls it every iteration. */
export interface ProgressAwareDetector extends Detector {
  setEpoch(epoch: number): void;
}

export function isProgressAware(detector: Detector): detector is ProgressAwareDetector {
  return typeof (detector as Partial<ProgressAwareDetector>).setEpoch === 'function';
}

// Adding a detector is one entry here. The factory is read off the module by name.
export const DETECTORS: Readonly<Record<string, DetectorEntry>> = {
  atss: {
    load: async () => (await import('@hpf/atss')).createAtss as unknown as DetectorFactory,
    smallInput: { octaveBaseScale: 1 },
    smallInputNote: 'anchors of 1x stride instead of 8x (P3 anchor 8 px)',
  },
  retinanet: {
    load: async () => (await import('@hpf/retinanet')).createRetinaNet as unknown as DetectorFactory,
    smallInput: { octaveBaseScale: 1 },
    smallInputNote: 'anchor octave base scale 1 instead of 4 (P3 anchors 8-12.7 px)',
  },
  fcos: {
    load: async () => (await import('@hpf/fcos')).createFcos as unknown as DetectorFactory,
    smallInput: { regressRanges: [[-1, 8], [8, 16], [16, 32], [32, 64], [64, 1e8]] },
    smallInputNote: 'regress ranges divided by 8: (-1,8) (8,16) (16,32) (32,64) (64,inf)',
  },
  gfl: {
    load: async () => (await import('@hpf/gfl')).createGfl as unknown as DetectorFactory,
    smallInput: { octaveBaseScale: 2 },
    smallInputNote: 'octave base scale 2 instead of 8 (packages/gfl README, "Small inputs")',
  },
  foveabox: {
    load: async () => (await import('@hpf/foveabox')).createFoveaBox as unknown as DetectorFactory,
    smallInput: { baseEdges: [8, 16, 32, 64, 128], scaleRanges: [[0.5, 32], [16, 64], [32, 128], [64, 256], [128, 1024]] },
    smallInputNote: 'scale ranges and base edges halved (packages/foveabox README, "Small inputs")',
  },
  freeanchor: {
    load: async () => (await import('@hpf/freeanchor')).createFreeAnchor as unknown as DetectorFactory,
    smallInput: { octaveBaseScale: 1, preAnchorTopk: 10 },
    smallInputNote: 'octave base scale 1, bag size 10 (packages/freeanchor README, "Small inputs")',
  },
  paa: {
    load: async () => (await import('@hpf/paa')).createPaa as unknown as DetectorFactory,
    smallInput: { octaveBaseScale: 2 },
    smallInputNote: 'octave base scale 2 instead of 8 (packages/paa README, "Small inputs")',
  },
  vfnet: {
    load: async () => (await import('@hpf/vfnet')).createVfnet as unknown as DetectorFactory,
    smallInput: { octaveBaseScale: 2, regDenoms: [8, 16, 32, 64, 128] },
    smallInputNote: 'octave base scale 2, initial boxes of one stride (packages/vfnet README, "Small inputs")',
  },
  tood: {
    load: async () => (await import('@hpf/tood')).createTood as unknown as DetectorFactory,
    smallInput: { octaveBaseScale: 2 },
    smallInputNote: 'octave base scale 2 for the ATSS warm-up (packages/tood README, "Small inputs")',
    // The published warm-up is 4 of 12 epochs; the adapter scales it to the run's epochs.
    scheduleOptions: ({ epochs }) => ({ epochs }),
  },
};

export function detectorNames(): string[] {
  return Object.keys(DETECTORS);
}

export class UnknownDetectorError extends Error {
  override readonly name = 'UnknownDetectorError';
  constructor(
    readonly detector: string,
    known: readonly string[] = detectorNames(),
  ) {
    super(`unknown detector '${detector}'; known detectors: ${known.join(', ')}`);
  }
}

export class DetectorUnavailableError extends Error {
  override readonly name = 'DetectorUnavailableError';
  constructor(
    readonly detector: string,
    readonly reason: string,
  ) {
    super(`detector '${detector}' is unavailable: its adapter failed to load (${reason})`);
  }
}

export function detectorEntry(name: string): DetectorEntry {
  const entry = Object.hasOwn(DETECTORS, name) ? DETECTORS[name] : undefined;
  if (entry === undefined) throw new UnknownDetectorError(name);
  return entry;
}

/** The factory of `name`; throws UnknownDetectorError or DetectorUnavailableError. */
export async function loadDetectorFactory(name: string, registry: Readonly<Record<string, DetectorEntry>> = DETECTORS): Promise<DetectorFactory> {
  const entry = Object.hasOwn(registry, name) ? registry[name] : undefined;
  if (entry === undefined) throw new UnknownDetectorError(name, Object.keys(registry));
  let factory: unknown;
  try {
    factory = await entry.load();
  } catch (error) {
    const first = String(error instanceof Error ? error.message : error).split('\n')[0];
    throw new DetectorUnavailableError(name, first ?? 'unknown error');
  }
  if (typeof factory !== 'function') throw new DetectorUnavailableError(name, 'the module does not export its factory function');
  return factory as DetectorFactory;
}

/** Expands `all` and comma lists; every name must be known. */
export function parseDetectorList(spec: string): string[] {
  const names = spec === 'all' ? detectorNames() : spec.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (names.length === 0) throw new Error(`--detectors: no detector named in '${spec}'`);
  for (const n of names) detectorEntry(n);
  return [...new Set(names)];
}
