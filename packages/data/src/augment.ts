/**
 * Training augmentation beyond the flip: scale jitter (a random resize of the letterbox, cropped or
 * padded back to the network input) and colour jitter (torchvision's `ColorJitter`). The options
 * are checked once; the random parameters of every image are drawn by the batch loader's epoch
 * plan, so they are a pure function of (seed, epoch) like the order and the flips.
 */
import type { ScalePlacement } from './letterbox.js';
import type { ColorJitterParams } from './photometric.js';
import { permutation, uniform01, type RandomGenerator } from './shuffle.js';

/**
 * torchvision's `ColorJitter` arguments: a number `x` jitters the factor uniformly in
 * `[max(0, 1 - x), 1 + x]` (hue: the shift in `[-x, x]`, x <= 0.5), a pair `[min, max]` gives
 * the range itself. Absent or 0: that op is left out.
 */
export interface ColorJitterOptions {
  brightness?: number | [number, number];
  contrast?: number | [number, number];
  saturation?: number | [number, number];
  hue?: number | [number, number];
}

/** What an image of a training batch gets beyond the flip (drawn by the loader's plan). */
export interface SampleAugmentation {
  /** Scale jitter: the letterbox resized by `scale` and placed at `position` (absent: plain letterbox). */
  scale?: ScalePlacement;
  /** Colour jitter factors (absent: none). */
  color?: ColorJitterParams;
}

/** Checked ranges of the four colour ops; `null` where the op is left out. */
export type ColorJitterRanges = Record<'brightness' | 'contrast' | 'saturation' | 'hue', [number, number] | null>;

const COLOR_KEYS = ['brightness', 'contrast', 'saturation', 'hue'] as const;

/** Checks `ColorJitterOptions` as torchvision's `_check_input` does, naming the bad field. */
export function colorJitterRanges(options: ColorJitterOptions, name = 'colorJitter'): ColorJitterRanges {
  if (typeof options !== 'object' || options === null) throw new Error(`${name} must be an object { brightness?, contrast?, saturation?, hue? }, got ${JSON.stringify(options)}`);
  for (const key of Object.keys(options)) {
    if (!(COLOR_KEYS as readonly string[]).includes(key)) throw new Error(`${name}: unknown field "${key}" (known: ${COLOR_KEYS.join(', ')})`);
  }
  const range = (key: (typeof COLOR_KEYS)[number]): [number, number] | null => {
    const value = options[key];
    const hue = key === 'hue';
    const centre = hue ? 0 : 1;
    const [lowest, highest] = hue ? [-0.5, 0.5] : [0, Infinity];
    if (value === undefined) return null;
    let r: [number, number];
    if (typeof value === 'number') {
      if (!(value >= 0 && Number.isFinite(value))) throw new Error(`${name}.${key} must be a finite number >= 0, got ${value}`);
      r = hue ? [-value, value] : [Math.max(0, 1 - value), 1 + value];
      if (hue && value > 0.5) throw new Error(`${name}.hue must be <= 0.5 (half a turn), got ${value}`);
    } else if (Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      r = [value[0], value[1]];
      if (!(lowest <= r[0] && r[0] <= r[1] && r[1] <= highest)) throw new Error(`${name}.${key}: [min, max] must satisfy ${lowest} <= min <= max <= ${highest}, got ${JSON.stringify(value)}`);
    } else {
      throw new Error(`${name}.${key} must be a number or a [min, max] pair, got ${JSON.stringify(value)}`);
    }
    return r[0] === centre && r[1] === centre ? null : r;
  };
  return { brightness: range('brightness'), contrast: range('contrast'), saturation: range('saturation'), hue: range('hue') };
}

/** Checks a scale-jitter range `[min, max]` (0 < min <= max, finite). */
export function checkScaleJitter(range: readonly number[], name = 'scaleJitter'): [number, number] {
  if (!(Array.isArray(range) && range.length === 2 && range.every((v) => Number.isFinite(v)) && range[0]! > 0 && range[0]! <= range[1]!)) {
    throw new Error(`${name} must be [min, max] with 0 < min <= max, got ${JSON.stringify(range)}`);
  }
  return [range[0]!, range[1]!];
}

/** Scale uniform in `[min, max]`, then the position `[u, v]`: three draws from `rng`. */
export function drawScalePlacement(range: [number, number], rng: RandomGenerator): ScalePlacement {
  const scale = range[0] + (range[1] - range[0]) * uniform01(rng);
  const u = uniform01(rng);
  const v = uniform01(rng);
  return { scale, position: [u, v] };
}

/**
 * One `ColorJitter` draw: the op order (a permutation of 4), then one draw per op, drawn also for
 * the ops left out, so the stream advances the same whatever ops are on.
 */
export function drawColorJitter(ranges: ColorJitterRanges, rng: RandomGenerator): ColorJitterParams {
  const order = Array.from(permutation(4, rng));
  const factor = (r: [number, number] | null): number | null => {
    const u = uniform01(rng);
    return r === null ? null : r[0] + (r[1] - r[0]) * u;
  };
  const brightness = factor(ranges.brightness);
  const contrast = factor(ranges.contrast);
  const saturation = factor(ranges.saturation);
  const hue = factor(ranges.hue);
  return { order, brightness, contrast, saturation, hue };
}
