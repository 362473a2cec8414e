export { DIGIT_CATEGORIES, INK_THRESHOLD, VISIBLE_FRACTION, generateImage, generateSplit, writeDigitsDet } from './generate.js';
export type { DrawnDigit, GeneratedImage, ObjectKind, SplitStats, WriteOptions } from './generate.js';
export { PRESETS, presetByName, type DigitsDetPreset, type PresetName } from './presets.js';
export { STRIDES, levelOf, objectsPerLevel } from './levels.js';
export { TRAIN_SAMPLE_FRACTION, digitGlyph, sampleRange, type DigitGlyph, type Split } from './mnist-digits.js';
export { Random } from './random.js';
export { runCli } from './run-cli.js';
