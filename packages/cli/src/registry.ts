/**
 * The detectors the `hpf` command knows: name -> lazily imported factory + the small-input
 * override. Each adapter is loaded with a dynamic `import()` so that a missing or broken adapter
 * makes only that detector unavailable (with an error naming it), never the whole command.
 */
import type { Detector } from '@hpf/dense';

/** Options every adapter factory accepts (the common dense-detector options of @hpf/dense). */
export interface CommonDetectorOptions {
  numClasses: number;
  hpf: boolean | Record<string, unknown>;
  seed: number;
  /** A preset name, or @hpf/nn's BackboneOptions (e.g. with frozenStages / normEval). */
  backbone?: string | Record<string, unknown>;
  neckChannels?: number;
  featChannels?: number;
  stackedConvs?: number;
  [option: string]: unknown;
}

export type DetectorFactory = (options: CommonDetectorOptions) => Detector;

export interface DetectorEntry<Options = CommonDetectorOptions> {
  /** Loads the adapter and returns its factory. */
  load: () => Promise<(options: Options) => Detector>;
  /**
   * Object-size options for small inputs (digits-det quick, 128 px): the published prior sizes put
   * almost every positive on P3 there. Applied to BOTH hpf modes, so the comparison stays paired.
   */
  smallInput: Partial<Options>;
  /** Why the override is what it is (printed by `hpf detectors`). */
  smallInputNote: string;
  /**
   * Options that follow the run's schedule, for detectors whose training depends on progress
   * (TOOD's ATSS warm-up is a fraction of the total epochs). Applied to both hpf modes.
   */
  scheduleOptions?: (schedule: { epochs: number }) => Partial<Options>;
}

/**
 * An adapter's entry, written against its own option type (so `smallInput` and `scheduleOptions`
 * are checked against the options the adapter declares), as the registry holds it. The one
 * conversion: at run time the options are built from command-line values and the adapter's factory
 * validates them (an unknown key or a bad value is an error naming the option), so the registry may
 * hand any factory the common, loosely typed options.
 */
function adapter<Options>(entry: DetectorEntry<Options>): DetectorEntry {
  return entry as unknown as DetectorEntry;
}

// Adding a detector is one entry here. The factory is read off the module by name.
export const DETECTORS: Readonly<Record<string, DetectorEntry>> = {
  atss: adapter({
    load: async () => (await import('@hpf/atss')).createAtss,
    smallInput: { octaveBaseScale: 2 },
    smallInputNote: 'anchors of 2x stride instead of 8x (P3 anchor 16 px): positives on P3-P5 (61/27/11%) instead of 98% on P3; AP 5.18 vs 4.68 published in an 800-iteration run (1x stride halved AP)',
  }),
  retinanet: adapter({
    load: async () => (await import('@hpf/retinanet')).createRetinaNet,
    smallInput: { octaveBaseScale: 1 },
    smallInputNote: 'anchor octave base scale 1 instead of 4 (P3 anchors 8-12.7 px): positives on P3-P6 instead of 81% on P3; AP 1.89 vs 0.02 published (0.20 with scale 2) in an 800-iteration run',
  }),
  fcos: adapter({
    load: async () => (await import('@hpf/fcos')).createFcos,
    smallInput: { regressRanges: [[-1, 32], [32, 64], [64, 128], [128, 256], [256, 1e8]] },
    smallInputNote: 'regress ranges halved: (-1,32) (32,64) (64,128) (128,256) (256,inf): positives on P3-P5 (72/23/5%) instead of 97% on P3; AP 3.89 vs 3.67 published in an 800-iteration run (ranges / 8 left half the digits without a positive)',
  }),
  gfl: adapter({
    load: async () => (await import('@hpf/gfl')).createGfl,
    smallInput: { octaveBaseScale: 3 },
    smallInputNote: 'octave base scale 3 instead of 8: positives on P3-P5 (75/20/5%) instead of 98.5% on P3, at a cost: AP 6.70 vs 8.23 and 7.21 published (two seeds) in 800-iteration runs (scale 2: 6.32, 6.18)',
  }),
  foveabox: adapter({
    load: async () => (await import('@hpf/foveabox')).createFoveaBox,
    smallInput: { baseEdges: [8, 16, 32, 64, 128], scaleRanges: [[0.5, 32], [16, 64], [32, 128], [64, 256], [128, 1024]], sigma: 0.8 },
    smallInputNote: 'scale ranges and base edges halved, fovea sigma 0.8 instead of 0.4: with 0.4 the fovea of a 12-30 px digit holds no cell centre and 31% of the digits got no positive (0% now); positives on P3-P5 (57/30/11%); AP 2.72 vs 1.82 published in 800-iteration runs at lr 0.01',
  }),
  freeanchor: adapter({
    load: async () => (await import('@hpf/freeanchor')).createFreeAnchor,
    smallInput: { octaveBaseScale: 1, preAnchorTopk: 10 },
    smallInputNote: 'octave base scale 1, bag size 10: bags on P3-P6 (45/34/16/5%) instead of 94% on P3; AP 0.02 vs 0.00 published (0.00 with scale 2) in 800-iteration runs at lr 0.03; 0.95 vs 0.52 at lr 0.01',
  }),
  paa: adapter({
    load: async () => (await import('@hpf/paa')).createPaa,
    smallInput: { octaveBaseScale: 2 },
    smallInputNote: 'octave base scale 2 instead of 8: candidates on P3-P6 instead of 85% on P3, and every digit has candidates (1.8% had none); AP 4.34 vs 1.45 published in an 800-iteration run',
  }),
  vfnet: adapter({
    load: async () => (await import('@hpf/vfnet')).createVfnet,
    smallInput: { octaveBaseScale: 2, regDenoms: [8, 16, 32, 64, 128] },
    smallInputNote: 'octave base scale 2, initial boxes of one stride: positives on P3-P5 instead of 98% on P3; AP 5.20 vs 2.80 published in an 800-iteration run',
  }),
  tood: adapter({
    load: async () => (await import('@hpf/tood')).createTood,
    smallInput: { octaveBaseScale: 2 },
    smallInputNote: 'octave base scale 2 for the ATSS warm-up and the anchor grid: warm-up positives on P3-P5 (61/27/11%) instead of 98.5% on P3; AP 3.60 and 4.10 vs 4.63 and 3.25 published (two seeds each) in 800-iteration runs: no measurable cost',
    // The published warm-up is 4 of 12 epochs; the adapter scales it to the run's epochs.
    scheduleOptions: ({ epochs }) => ({ epochs }),
  }),
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
