export { overfitImages, runOverfit, useWasmTraining, OVERFIT_DEFAULTS, OVERFIT_PRESET, type OverfitData, type OverfitJitter, type OverfitOptions, type OverfitResult } from './overfit.js';
export {
  SMALL_DETECTOR,
  lcg,
  lossBatch,
  lossValues,
  disposeLoss,
  expectStaticLevels,
  expectDeltaZeroMatchesBaseline,
  expectHpfLevels,
  expectHpfChangesOnlyClassification,
  expectFiniteHeadGradients,
  expectTargetErrors,
  type LossBatch,
  type LossDetector,
  type GradDetector,
  type HpfSetting,
  type StaticFocus,
  type IdentityCheck,
  type HpfOnOffCheck,
} from './loss-checks.js';
export {
  LEVEL_SIZES_64,
  FIRING_CELL,
  firingCellMaps,
  LETTERBOX_FLIP_META,
  letterboxFlipExpected,
  expectKnownAnswerPredict,
  expectWellFormedPredict,
  type PredictDetector,
  type KnownAnswer,
} from './predict-checks.js';
export { sigmoid, bce64, focal64, qfl64, overlaps64, giou64 } from './reference.js';
