export interface DigitsDetPreset {
  name: string;
  /** Square image side in pixels. */
  imageSize: number;
  /** Default image counts per split. */
  train: number;
  val: number;
  /** Annotated digits per image are drawn from minDigits..maxDigits (placements that do not fit are dropped). */
  minDigits: number;
  maxDigits: number;
  /** Ink height range of a digit in pixels; drawn log-uniform with a bias to small ones. */
  minInkHeight: number;
  maxInkHeight: number;
  /**
   * Smallest side of an annotated digit's ink box, in pixels (0: no floor). A digit narrower than
   * the finest stride (8 px) can fall between the P3 grid points: then no prior centre lies inside
   * it, and every centre-in-box assigner (FCOS, ATSS, GFL, VFNet, TOOD, FoveaBox) trains it as
   * background. Thin glyphs (a '1') are drawn taller instead, so the floor costs no draws.
   */
  minInkSide: number;
  /** Up to this many partial digits (hard negatives) per image. */
  maxPartials: number;
  /** Up to this many distractor strokes under the digits, and over them. */
  maxStrokesUnder: number;
  maxStrokesOver: number;
  /** Anchor side / stride of an ATSS-style detector at this input size (see `levelOf`). */
  anchorScale: number;
}

/**
 * `quick`: 128 px, small enough to train a detector on a CPU. 4,096 training images because a
 * torchvision FCOS with the benchmark's network overfits at AP ~6 on 512 whatever the iterations,
 * and reaches AP ~21 on 4,096 at 3,000 iterations (examples/parity); 512 validation images keep
 * the AP of a paired comparison from resting on a few hundred digits.
 * `full`: 320 px, for GPU runs and the stable-gain protocol.
 */
export const PRESETS: Readonly<Record<'quick' | 'full', Readonly<DigitsDetPreset>>> = {
  quick: {
    name: 'quick',
    imageSize: 128,
    train: 4096,
    val: 512,
    minDigits: 1,
    maxDigits: 12,
    minInkHeight: 8,
    maxInkHeight: 122,
    minInkSide: 12,
    maxPartials: 2,
    maxStrokesUnder: 4,
    maxStrokesOver: 2,
    anchorScale: 1,
  },
  full: {
    name: 'full',
    imageSize: 320,
    train: 4000,
    val: 1000,
    minDigits: 1,
    maxDigits: 12,
    minInkHeight: 8,
    maxInkHeight: 304,
    minInkSide: 12,
    maxPartials: 3,
    maxStrokesUnder: 6,
    maxStrokesOver: 3,
    anchorScale: 2,
  },
};

export type PresetName = keyof typeof PRESETS;

export function presetByName(name: string): Readonly<DigitsDetPreset> {
  if (name !== 'quick' && name !== 'full') throw new Error(`unknown digits-det preset "${name}" (expected quick or full)`);
  return PRESETS[name];
}
