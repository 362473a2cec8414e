export { DETECTORS, detectorNames, detectorEntry, loadDetectorFactory, parseDetectorList, UnknownDetectorError, DetectorUnavailableError, type DetectorEntry, type DetectorFactory, type CommonDetectorOptions } from './registry.js';
export {
  runTraining,
  TRAIN_DEFAULTS,
  TrainingStoppedError,
  buildDetector,
  loadModelState,
  detectorOptionsFor,
  lrScheduleFor,
  checkpointPath,
  CHECKPOINT_FILE,
  RESULT_FILE,
  type TrainOptions,
  type TrainHooks,
  type TrainResult,
  type ProgressEvent,
  type IterationRecord,
  type CheckpointMeta,
  type HpfSetting,
} from './train.js';
// The checkpoint file functions moved to @hpf/engine's trainer; re-exported for existing users.
export { writeCheckpoint, readCheckpoint, assignVariables, type CheckpointFile } from '@hpf/engine/node';
export { resolveData, type DataSource, type ResolveDataOptions } from './data-source.js';
export { evaluateDetector, predictDataset, groundTruth } from './evaluate.js';
export { predictImages, listImages, drawBox } from './predict.js';
export { openRun } from './run-files.js';
export { ARGS_FILE, RESULTS_CSV_FILE, CURVES_BASE, BEST_CHECKPOINT_FILE, type RunArgs } from './run-folder.js';
export { resultsCsv, resultsHeader, parseResultsCsv, type ResultsRow } from './results-csv.js';
export { bestValidation, earlyStop } from './early-stop.js';
export { applyInitialWeights, backboneOption, checkInitialWeights, type InitialWeightsOptions, type BackboneSetting } from './initial-weights.js';
export { BENCH_PRESETS, planRuns, runStatus, openBench, readBenchConfig, trainArgs, runBench, parseShard, shardRuns, type BenchConfig, type BenchRun, type RunStatus, type Shard } from './bench.js';
export { summarizeBench, formatMarkdown, writeReport, gammaPoints, METRICS, type BenchReport, type DetectorReport } from './report.js';
export { mean, sampleSd, pairedSummary, type PairedSummary } from './stats.js';
export { renderSvg, svgToPng, writeChart, deltaChartSpec, gammaChartSpec, runCurvesChartSpec, type DeltaInterval, type DeltaPoint } from './charts.js';
export { createProgram, trainOptionsFromCli, hpfSetting, type CliIo } from './cli-app.js';
export { formatProgressLine, formatDuration, formatLosses } from './progress.js';
