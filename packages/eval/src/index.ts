export { evaluateCoco } from './evaluate.js';
export { formatSummary, formatFixed3 } from './summarize.js';
export { linspace, AREA_RANGES, AREA_LABELS, DEFAULT_MAX_DETS } from './params.js';
export type {
  CocoAnnotation,
  CocoCategory,
  CocoDataset,
  CocoDetection,
  CocoEvalParams,
  CocoEvalResult,
  CocoImage,
  CocoStats,
  CategoryResult,
  EvaluateOptions,
} from './types.js';
export {
  confusionMatrix,
  normaliseColumns,
  perClassAp,
  precisionRecallCurves,
  type ClassApRow,
  type ConfusionMatrix,
  type ConfusionMatrixOptions,
  type PrCurve,
} from './analysis.js';
