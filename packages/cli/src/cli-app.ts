/**
 * The `hpf` command, built with commander: train, eval, predict, bench stable-gain, report and
 * detectors. `createProgram` returns the program without running it, so tests parse arguments
 * and read --help without training anything.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { ColorJitterOptions } from '@hpf/data';
import { BACKBONE_PRESETS } from '@hpf/nn';
import { BENCH_PRESETS, parseShard, runBench, type BenchConfig } from './bench.js';
import { explicitDataSpec } from './data-source.js';
import { DETECTORS, detectorNames, loadDetectorFactory, parseDetectorList } from './registry.js';
import { TRAIN_DEFAULTS, type HpfSetting, type TrainOptions } from './train.js';
import { cliVersion } from './version.js';

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

const defaultIo: CliIo = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

// Number() also reads '0x10', '0b1', '1e3' and ' 7 ': a typo would pass as some other number.
const DECIMAL_INT = /^[+-]?\d+$/;
const DECIMAL_FLOAT = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

function intArg(name: string, min = 0): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!DECIMAL_INT.test(value) || !Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}, got '${value}'`);
    return n;
  };
}

function floatArg(name: string, min = 0, exclusive = false, max?: { value: number; exclusive: boolean }): (value: string) => number {
  return (value) => {
    const n = Number(value);
    const tooBig = max !== undefined && (n > max.value || (max.exclusive && n === max.value));
    if (!DECIMAL_FLOAT.test(value) || !Number.isFinite(n) || n < min || (exclusive && n === min) || tooBig) {
      const upper = max === undefined ? '' : ` and ${max.exclusive ? '<' : '<='} ${max.value}`;
      throw new InvalidArgumentError(`${name} must be a number ${exclusive ? '>' : '>='} ${min}${upper}, got '${value}'`);
    }
    return n;
  };
}

/** `--val-every`: `500` (iterations) or `2e` (epochs); 0 = only the evaluation at the end. */
export function valEveryArg(value: string): { iterations: number } | { epochs: number } {
  const m = /^(\d+)(e?)$/.exec(value);
  const n = m === null ? NaN : Number(m[1]);
  if (m === null || !Number.isSafeInteger(n) || (m[2] === 'e' && n < 1)) {
    throw new InvalidArgumentError(`--val-every takes iterations (e.g. 500) or epochs with an 'e' (e.g. 2e), got '${value}'`);
  }
  return m[2] === 'e' ? { epochs: n } : { iterations: n };
}

/** Comma-separated iteration numbers in strictly ascending order (learning-rate milestones). */
function ascendingIntListArg(name: string): (value: string) => number[] {
  return (value) => {
    const list = value.split(',').map((s) => {
      const n = Number(s);
      if (!DECIMAL_INT.test(s) || !Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`${name} takes comma-separated integers >= 0, got '${value}'`);
      return n;
    });
    list.forEach((n, i) => {
      if (i > 0 && n <= list[i - 1]!) throw new InvalidArgumentError(`${name} must be strictly ascending, got '${value}'`);
    });
    return list;
  };
}

/**
 * Detectors whose head towers use GroupNorm with 32 groups (mmdetection's setting): their
 * --feat-channels must be a multiple of 32, or the head cannot be built.
 */
const GROUP_NORM_HEADS = new Set(['atss', 'fcos', 'paa', 'gfl', 'tood', 'vfnet']);
const HEAD_NORM_GROUPS = 32;

/** Checks between options that a single option's parser cannot see; throws naming the option. */
export function checkTrainCombination(o: Pick<TrainCliOptions, 'detector' | 'steps' | 'lrSteps' | 'featChannels'>): void {
  if (o.lrSteps === undefined) {
    // The default milestones, 2/3 and 11/12 of --steps, must be distinct to make a schedule.
    const a = Math.round((o.steps * 2) / 3);
    const b = Math.round((o.steps * 11) / 12);
    if (a >= b) throw new Error(`--steps ${o.steps}: the default --lr-steps (2/3 and 11/12 of --steps) would be ${a},${b}, not ascending; use --steps >= 2 or give --lr-steps`);
  } else {
    // A milestone past the last iteration can never apply: most likely a typo (or --steps is).
    const late = o.lrSteps.filter((s) => s > o.steps);
    if (late.length > 0) throw new Error(`--lr-steps ${o.lrSteps.join(',')}: ${late.join(', ')} ${late.length === 1 ? 'is' : 'are'} beyond --steps ${o.steps}, so the rate would never change there`);
  }
  if (o.featChannels !== undefined && GROUP_NORM_HEADS.has(o.detector) && o.featChannels % HEAD_NORM_GROUPS !== 0) {
    throw new Error(`--feat-channels ${o.featChannels}: ${o.detector}'s head uses GroupNorm with ${HEAD_NORM_GROUPS} groups, so --feat-channels must be a multiple of ${HEAD_NORM_GROUPS}`);
  }
}

/** `--set key=value` (repeatable): an adapter option; the value is parsed as JSON when it parses. */
function collectSetting(value: string, previous: Record<string, unknown> = {}): Record<string, unknown> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError(`--set takes key=value, got '${value}'`);
  const key = value.slice(0, eq);
  const raw = value.slice(eq + 1);
  let parsed: unknown = raw;
  try {
    parsed = JSON.parse(raw);
  } catch {
    // a plain string
  }
  return { ...previous, [key]: parsed };
}

export interface TrainCliOptions {
  detector: string;
  hpf?: boolean;
  hpfDelta?: number;
  hpfMomentum?: number;
  data?: string;
  trainJson?: string;
  trainImages?: string;
  valJson?: string;
  valImages?: string;
  out: string;
  steps: number;
  batchSize: number;
  inputSize?: number;
  lr: number;
  warmupIters?: number;
  warmupRatio: number;
  lrSteps?: number[];
  lrGamma: number;
  momentum: number;
  weightDecay: number;
  clipGradNorm?: number;
  seed: number;
  backbone: string;
  backboneWeights?: string;
  loadFrom?: string;
  frozenStages?: number;
  normEval?: boolean;
  inputNorm?: 'imagenet' | 'none';
  neckChannels?: number;
  featChannels?: number;
  stackedConvs?: number;
  smallInput: 'auto' | 'on' | 'off';
  checkpointEvery: number;
  resume?: boolean;
  allowBackendChange?: boolean;
  eval: boolean;
  valEvery: { iterations: number } | { epochs: number };
  patience?: number;
  flip: number;
  scaleJitter?: [number, number];
  colorJitter?: ColorJitterOptions;
  dataCache?: string;
  set?: Record<string, unknown>;
  backend?: string;
  threads?: number;
  logEvery: number;
}

/** --hpf / --no-hpf / --hpf-delta / --hpf-momentum -> the adapters' `hpf` option. */
export function hpfSetting(o: Pick<TrainCliOptions, 'hpf' | 'hpfDelta' | 'hpfMomentum'>): HpfSetting {
  const tuned = o.hpfDelta !== undefined || o.hpfMomentum !== undefined;
  if (o.hpf === false) {
    if (tuned) throw new Error('--no-hpf cannot be combined with --hpf-delta or --hpf-momentum');
    return false;
  }
  if (!tuned) return true;
  const setting: Record<string, unknown> = {};
  if (o.hpfDelta !== undefined) setting.delta = o.hpfDelta;
  if (o.hpfMomentum !== undefined) setting.momentum = o.hpfMomentum;
  return setting;
}

/** --data, or the four explicit files (stored as --data's JSON form). */
export function dataSpecFromCli(o: Pick<TrainCliOptions, 'data' | 'trainJson' | 'trainImages' | 'valJson' | 'valImages'>): string {
  const explicit = { '--train-json': o.trainJson, '--train-images': o.trainImages, '--val-json': o.valJson, '--val-images': o.valImages };
  const given = Object.entries(explicit).filter(([, v]) => v !== undefined).map(([k]) => k);
  if (given.length === 0) {
    if (o.data === undefined) throw new Error("required option '--data <spec>' not specified (or give --train-json, --train-images, --val-json and --val-images)");
    return o.data;
  }
  if (o.data !== undefined) throw new Error(`--data cannot be combined with ${given.join(', ')}`);
  const missing = Object.keys(explicit).filter((k) => !given.includes(k));
  if (missing.length > 0) throw new Error(`${given.join(', ')} given without ${missing.join(', ')}: the explicit form needs all four`);
  return explicitDataSpec({ trainJson: o.trainJson!, trainImages: o.trainImages!, valJson: o.valJson!, valImages: o.valImages! });
}

export function trainOptionsFromCli(o: TrainCliOptions): TrainOptions {
  checkTrainCombination(o);
  const options: TrainOptions = {
    detector: o.detector,
    hpf: hpfSetting(o),
    data: dataSpecFromCli(o),
    out: o.out,
    steps: o.steps,
    batchSize: o.batchSize,
    lr: o.lr,
    warmupRatio: o.warmupRatio,
    lrGamma: o.lrGamma,
    momentum: o.momentum,
    weightDecay: o.weightDecay,
    seed: o.seed,
    backbone: o.backbone,
    smallInput: o.smallInput === 'auto' ? 'auto' : o.smallInput === 'on',
    checkpointEvery: o.checkpointEvery,
    resume: o.resume === true,
    evaluate: o.eval,
    flipProbability: o.flip,
    logEvery: o.logEvery,
  };
  if ('epochs' in o.valEvery) options.valEveryEpochs = o.valEvery.epochs;
  else options.valEvery = o.valEvery.iterations;
  if (o.patience !== undefined) options.patience = o.patience;
  if (o.inputSize !== undefined) options.inputSize = o.inputSize;
  if (o.warmupIters !== undefined) options.warmupIters = o.warmupIters;
  if (o.lrSteps !== undefined) options.lrSteps = o.lrSteps;
  if (o.clipGradNorm !== undefined) options.clipGradNorm = o.clipGradNorm;
  if (o.neckChannels !== undefined) options.neckChannels = o.neckChannels;
  if (o.featChannels !== undefined) options.featChannels = o.featChannels;
  if (o.stackedConvs !== undefined) options.stackedConvs = o.stackedConvs;
  if (o.backboneWeights !== undefined) options.backboneWeights = o.backboneWeights;
  if (o.loadFrom !== undefined) options.loadFrom = o.loadFrom;
  if (o.frozenStages !== undefined) options.frozenStages = o.frozenStages;
  if (o.normEval !== undefined) options.normEval = o.normEval;
  if (o.inputNorm !== undefined) options.inputNorm = o.inputNorm;
  if (o.scaleJitter !== undefined) options.scaleJitter = o.scaleJitter;
  if (o.colorJitter !== undefined) options.colorJitter = o.colorJitter;
  if (o.dataCache !== undefined) options.dataCache = o.dataCache;
  if (o.set !== undefined) options.detectorOptions = o.set;
  if (o.allowBackendChange === true) options.allowBackendChange = true;
  return options;
}

/** `--scale-jitter min,max`: two numbers, 0 < min <= max. */
function scaleJitterArg(value: string): [number, number] {
  const parts = value.split(',');
  const [lo, hi] = parts.map(Number);
  if (parts.length !== 2 || !parts.every((p) => DECIMAL_FLOAT.test(p)) || !(lo! > 0 && lo! <= hi! && Number.isFinite(hi))) {
    throw new InvalidArgumentError(`--scale-jitter takes min,max with 0 < min <= max (e.g. 0.5,1.5), got '${value}'`);
  }
  return [lo!, hi!];
}

/**
 * `--color-jitter v` (brightness, contrast and saturation v, as timm reads one number),
 * `b,c,s` or `b,c,s,h`: torchvision's ColorJitter arguments.
 */
function colorJitterArg(value: string): ColorJitterOptions {
  const parts = value.split(',');
  const numbers = parts.map(Number);
  if (![1, 3, 4].includes(parts.length) || !parts.every((p) => DECIMAL_FLOAT.test(p)) || !numbers.every((n) => n >= 0 && Number.isFinite(n))) {
    throw new InvalidArgumentError(`--color-jitter takes v, or b,c,s, or b,c,s,h: numbers >= 0 (e.g. 0.4 or 0.4,0.4,0.4,0.1), got '${value}'`);
  }
  const [b, c = b, s = b, h] = numbers as [number, number?, number?, number?];
  if (h !== undefined && h > 0.5) throw new InvalidArgumentError(`--color-jitter: the hue jitter (4th value) must be <= 0.5, got '${value}'`);
  return { brightness: b, contrast: c, saturation: s, ...(h === undefined ? {} : { hue: h }) };
}

function backboneArg(value: string): string {
  if (!Object.hasOwn(BACKBONE_PRESETS, value)) throw new InvalidArgumentError(`unknown backbone '${value}'; known: ${Object.keys(BACKBONE_PRESETS).join(', ')}`);
  return value;
}

function frozenStagesArg(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < -1 || n > 4) throw new InvalidArgumentError(`--frozen-stages must be an integer from -1 to 4, got '${value}'`);
  return n;
}

function detectorArg(value: string): string {
  if (!Object.hasOwn(DETECTORS, value)) throw new InvalidArgumentError(`unknown detector '${value}'; known detectors: ${detectorNames().join(', ')}`);
  return value;
}

async function startBackend(backend: string | undefined, threads: number | undefined, io: CliIo): Promise<void> {
  const { initBackend, formatBackendChoice } = await import('@hpf/engine/node');
  const choice = await initBackend({ ...(backend === undefined ? {} : { prefer: backend as never }), ...(threads === undefined ? {} : { threads }) });
  io.err(`${formatBackendChoice(choice)}\n`);
}

/** SIGINT/SIGTERM abort the controller once; a second signal exits at once. */
function abortOnSignals(io: CliIo): { signal: AbortSignal; release: () => void } {
  const controller = new AbortController();
  const handler = (name: NodeJS.Signals): void => {
    if (controller.signal.aborted) process.exit(130);
    io.err(`\n${name}: stopping after the current iteration (a checkpoint of it is written); press Ctrl-C again to quit at once (the last checkpoint stays intact)\n`);
    controller.abort();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    release: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

function addTrainOptions(cmd: Command): Command {
  const d = TRAIN_DEFAULTS;
  return cmd
    .requiredOption('--detector <name>', `detector: ${detectorNames().join(', ')}`, detectorArg)
    .option('--hpf', 'train with the HPF classification loss (default)')
    .option('--no-hpf', 'train with the published loss (the baseline)')
    .option('--hpf-delta <delta>', 'HPF: half-width of the gamma range (implies --hpf)', floatArg('--hpf-delta'))
    .option('--hpf-momentum <m>', 'HPF: EMA momentum of the per-level statistic, in [0, 1) (implies --hpf)', floatArg('--hpf-momentum', 0, false, { value: 1, exclusive: true }))
    .option('--data <spec>', 'digits-det:quick, digits-det:full, a folder with train/ and val/ COCO sub-folders, or a COCO-2017 folder (annotations/instances_train2017.json, train2017/, ...)')
    .option('--train-json <file>', 'training annotations (COCO instances JSON), instead of --data; needs the other three')
    .option('--train-images <dir>', 'folder the training file_names are relative to')
    .option('--val-json <file>', 'validation annotations (COCO instances JSON)')
    .option('--val-images <dir>', 'folder the validation file_names are relative to')
    .requiredOption('--out <dir>', 'run folder: args.json, results.csv, curves.png/.svg, checkpoint.hpf, best.hpf, result.json')
    .option('--steps <n>', 'training iterations', intArg('--steps', 1), d.steps)
    .option('--batch-size <n>', 'images per iteration', intArg('--batch-size', 1), d.batchSize)
    .option('--input-size <px>', 'square network input (default: median longer image side, multiple of 32, at most 640; a resume: the checkpoint\'s)', intArg('--input-size', 1))
    .option('--lr <lr>', 'base learning rate', floatArg('--lr', 0, true), d.lr)
    .option('--warmup-iters <n>', 'linear warm-up iterations (default min(100, steps / 4))', intArg('--warmup-iters'))
    .option('--warmup-ratio <r>', 'warm-up starts at lr x ratio', floatArg('--warmup-ratio'), d.warmupRatio)
    .option('--lr-steps <list>', 'iterations where lr is multiplied by --lr-gamma (default 2/3 and 11/12 of --steps)', ascendingIntListArg('--lr-steps'))
    .option('--lr-gamma <g>', 'learning-rate step factor', floatArg('--lr-gamma'), d.lrGamma)
    .option('--momentum <m>', 'SGD momentum, in [0, 1)', floatArg('--momentum', 0, false, { value: 1, exclusive: true }), d.momentum)
    .option('--weight-decay <wd>', 'SGD weight decay', floatArg('--weight-decay'), d.weightDecay)
    .option('--clip-grad-norm <n>', 'clip gradients to this global norm', floatArg('--clip-grad-norm', 0, true))
    .option('--seed <n>', 'seed of the initial weights and the data order', intArg('--seed'), d.seed)
    .option('--backbone <preset>', `backbone: ${Object.keys(BACKBONE_PRESETS).join(', ')}`, backboneArg, d.backbone)
    .option('--backbone-weights <file>', 'pretrained ResNet weights (.safetensors, torchvision or timm names) for --backbone')
    .option('--load-from <file>', 'start from a whole detector: .safetensors (torch layout) or an hpf checkpoint / run folder')
    .option('--frozen-stages <n>', 'stem + first n stages get no gradient and no weight decay; -1 none (default: 1 with pretrained weights, else -1)', frozenStagesArg)
    .option('--norm-eval', 'keep backbone BatchNorm statistics frozen (default with pretrained weights)')
    .option('--no-norm-eval', 'update backbone BatchNorm statistics (default without pretrained weights)')
    .addOption(new Option('--input-norm <kind>', 'ImageNet mean/std normalisation in the backbone (default: imagenet with pretrained weights, an hpf checkpoint\'s own with --load-from)').choices(['imagenet', 'none']))
    .option('--neck-channels <n>', 'FPN channels (adapter default 64)', intArg('--neck-channels', 1))
    .option('--feat-channels <n>', 'head tower channels (adapter default 64)', intArg('--feat-channels', 1))
    .option('--stacked-convs <n>', 'convs per head tower (adapter default 4)', intArg('--stacked-convs', 1))
    .addOption(new Option('--small-input <mode>', 'apply the registry small-input prior sizes (auto: input <= 256 px)').choices(['auto', 'on', 'off']).default('auto'))
    .option('--set <key=value>', 'extra adapter option (JSON value), repeatable', collectSetting)
    .option('--checkpoint-every <n>', 'also checkpoint every n iterations (0: epoch ends only)', intArg('--checkpoint-every'), d.checkpointEvery)
    .option('--resume', 'continue from <out>/checkpoint.hpf')
    .option('--allow-backend-change', 'let --resume continue a checkpoint computed on another backend (the result then differs from an uninterrupted run)')
    .option('--no-eval', 'skip the COCO evaluation on val/ at the end')
    .addOption(
      new Option('--val-every <n>', "also evaluate COCO AP on val/ every n iterations, or every n epochs with an 'e' (2e); keeps the best as best.hpf (0: only at the end)")
        .argParser(valEveryArg)
        .default({ iterations: d.valEvery }, String(d.valEvery)),
    )
    .option('--patience <k>', 'stop after k validations in a row without a better val AP (needs --val-every)', intArg('--patience', 1))
    .option('--flip <p>', 'horizontal flip probability', floatArg('--flip'), d.flipProbability)
    .option('--scale-jitter <min,max>', 'random resize of each training image by a factor in [min, max], cropped or padded to the input; boxes follow (default off)', scaleJitterArg)
    .option('--color-jitter <v|b,c,s[,h]>', 'brightness, contrast, saturation (and hue) jitter as torchvision ColorJitter; one value v sets the first three (default off)', colorJitterArg)
    .option('--data-cache <dir>', 'where digits-det sets are generated', 'runs/data')
    .option('--backend <name>', 'tfjs backend: auto, wasm, cpu, tensorflow, ... (default: HPF_BACKEND or auto)')
    .option('--threads <n>', 'wasm backend threads, 1-8 (default: HPF_WASM_THREADS or 1)', intArg('--threads', 1))
    .option('--log-every <n>', 'a results.csv row every n iterations, and a progress line when not on a terminal', intArg('--log-every', 1), d.logEvery);
}

/** Where `hpf eval` writes: the run folder for its checkpoint.hpf, eval-<name>/ in it for another checkpoint (best.hpf: eval-best/). */
export function evalOutputDir(runDir: string, checkpoint: string): string {
  const name = basename(checkpoint, extname(checkpoint));
  return resolve(checkpoint) === join(runDir, 'checkpoint.hpf') ? runDir : join(runDir, `eval-${name}`);
}


export function createProgram(io: CliIo = defaultIo): Command {
  const program = new Command('hpf')
    .description('Train, evaluate and benchmark one-stage detectors with Hierarchical Progressive Focus (HPF)')
    .version(cliVersion(), '-V, --version', 'print the hpf version')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride();

  const train = addTrainOptions(new Command('train').description('train a detector (checkpoint every epoch, --resume, COCO evaluation at the end)'));
  train.action(async (o: TrainCliOptions) => {
    const options = trainOptionsFromCli(o);
    await startBackend(o.backend, o.threads, io);
    // Training's runtime set-up (gradients, wasm training kernels); eval and predict need none.
    (await import('@hpf/engine')).installTrainingKernels();
    const { runTraining, TrainingStoppedError } = await import('./train.js');
    const { createProgressView } = await import('./progress.js');
    const { formatSummary } = await import('@hpf/eval');
    const view = createProgressView(process.stderr, o.logEvery, (l) => io.out(`${l}\n`));
    const { signal, release } = abortOnSignals(io);
    try {
      const result = await runTraining(options, {
        signal,
        log: (l) => view.log(l),
        onStart: ({ startIteration, steps }) => view.start(startIteration, steps),
        onIteration: (e) => view.update(e),
      });
      view.stop();
      if (result.interrupted) {
        io.out(`stopped at iteration ${result.history.length}; checkpoint ${result.checkpoint}; continue with --resume\n`);
        process.exitCode = 130;
        return;
      }
      if (result.earlyStop !== undefined) io.out(`${result.earlyStop.message}\n`);
      io.out(`trained ${result.history.length} of ${result.steps} iterations in ${result.trainSeconds.toFixed(0)} s; checkpoint ${result.checkpoint}\n`);
      if (result.best !== undefined) io.out(`best val AP ${(100 * result.best.ap).toFixed(2)} at iteration ${result.best.iteration}: ${result.best.checkpoint}\n`);
      if (result.stats !== null) io.out(`${formatSummary(result.stats)}\n`);
      io.out(`result: ${join(resolve(options.out), 'result.json')}; per log step: results.csv; curves.png\n`);
    } catch (error) {
      view.stop();
      if (error instanceof TrainingStoppedError) {
        io.err(`${error.message}\n`);
        process.exitCode = 1;
        return;
      }
      throw error;
    } finally {
      release();
    }
  });
  program.addCommand(train);

  program.addCommand(
    new Command('eval')
      .description('COCO evaluation of a trained run on its validation split (or --data): summary, per-class AP table and CSV, PR curves, confusion matrix')
      .requiredOption('--run <dir>', 'run folder written by hpf train')
      .option('--checkpoint <file>', 'the checkpoint in the run folder to use, e.g. best.hpf (a path relative to --run, or absolute)', 'checkpoint.hpf')
      .option('--data <spec>', 'data to evaluate on (default: the run\'s own)')
      .option('--data-cache <dir>', 'where digits-det sets are generated', 'runs/data')
      .option('--batch-size <n>', 'images per batch', intArg('--batch-size', 1), 8)
      .option('--conf <s>', 'score threshold of the confusion matrix (AP uses every detection)', floatArg('--conf', 0, false, { value: 1, exclusive: false }), 0.25)
      .option('--backend <name>', 'tfjs backend')
      .option('--threads <n>', 'wasm backend threads, 1-8 (default: HPF_WASM_THREADS or 1)', intArg('--threads', 1))
      .action(async (o: { run: string; checkpoint: string; data?: string; dataCache: string; batchSize: number; conf: number; backend?: string; threads?: number }) => {
        await startBackend(o.backend, o.threads, io);
        const { openRun } = await import('./run-files.js');
        const { writeFileAtomic } = await import('@hpf/data');
        const { evaluateDetector, groundTruth } = await import('./evaluate.js');
        const { resolveData, readSplit } = await import('./data-source.js');
        const { formatSummary } = await import('@hpf/eval');
        const { describeHpf, writeEvalReport } = await import('./eval-report.js');
        const run = await openRun(o.run, o.checkpoint);
        try {
          const source = resolveData(o.data ?? run.meta.options.data, { cacheDir: o.dataCache });
          const val = readSplit(source.val);
          const { detections, result } = await evaluateDetector(run.detector, val, { batchSize: o.batchSize, inputSize: run.meta.inputSize });
          const steps = run.meta.options.steps;
          io.out(`${run.meta.options.detector} trained with ${describeHpf(run.meta.options.hpf)}, ${run.path} (iteration ${run.meta.iteration} of ${steps}), on ${val.annotationFile} (${val.images.length} images)\n${formatSummary(result.stats)}\n`);
          // Another checkpoint than the run's last (best.hpf) gets its own folder: eval-best/.
          const dir = evalOutputDir(resolve(o.run), run.path);
          const { table, files } = await writeEvalReport(dir, groundTruth(val), detections, result, o.conf);
          io.out(`\nper class (AP in percent; '-': no ground truth):\n${table}\n`);
          const file = join(dir, 'eval.json');
          writeFileAtomic(file, JSON.stringify({ data: val.annotationFile, checkpoint: run.path, iteration: run.meta.iteration, stats: result.stats, perCategory: result.perCategory }, null, 1));
          io.out(`written: ${file}, ${files.csv}, ${files.prCurve.png}, ${files.confusion.png}, ${files.confusionNormalised.png} (and .svg)\n`);
        } finally {
          run.detector.dispose();
        }
      }),
  );

  program.addCommand(
    new Command('predict')
      .description('detections for a folder of images: COCO results JSON + PNGs with boxes, class names and scores drawn')
      .requiredOption('--run <dir>', 'run folder written by hpf train')
      .option('--checkpoint <file>', 'the checkpoint in the run folder to use, e.g. best.hpf (a path relative to --run, or absolute)', 'checkpoint.hpf')
      .requiredOption('--images <dir>', 'a COCO folder (instances.json) or a folder of .png/.jpg images')
      .requiredOption('--out <dir>', 'output folder: detections.json and images/*.png (never an input image is replaced)')
      .option('--conf <s>', 'draw boxes with at least this score (detections.json has all)', floatArg('--conf', 0, false, { value: 1, exclusive: false }), 0.3)
      .option('--batch-size <n>', 'images per batch', intArg('--batch-size', 1), 8)
      .option('--backend <name>', 'tfjs backend')
      .option('--threads <n>', 'wasm backend threads, 1-8 (default: HPF_WASM_THREADS or 1)', intArg('--threads', 1))
      .action(async (o: { run: string; checkpoint: string; images: string; out: string; conf: number; batchSize: number; backend?: string; threads?: number }) => {
        const { listImages, planOutputFiles, predictImages } = await import('./predict.js');
        const images = listImages(o.images);
        const out = resolve(o.out);
        // Refuses an --out whose drawn copies would replace an input image, before any work.
        planOutputFiles(images, out);
        await startBackend(o.backend, o.threads, io);
        const { openRun } = await import('./run-files.js');
        const { writeFileAtomic } = await import('@hpf/data');
        const run = await openRun(o.run, o.checkpoint);
        try {
          mkdirSync(out, { recursive: true });
          io.out(`${images.length} images; drawing boxes with score >= ${o.conf} (--conf); detections.json keeps every detection\n`);
          const { detections, files, skipped } = await predictImages(run.detector, images, {
            inputSize: run.meta.inputSize,
            batchSize: o.batchSize,
            labelToCategoryId: run.meta.categories.map((c) => c.id),
            classNames: run.meta.categories.map((c) => c.name),
            drawThreshold: o.conf,
            outDir: out,
            warn: (m) => io.err(`${m}\n`),
          });
          writeFileAtomic(join(out, 'detections.json'), JSON.stringify(detections));
          const skippedNote = skipped.length === 0 ? '' : `; ${skipped.length} undecodable images skipped (see the warnings)`;
          io.out(`${detections.length} detections on ${files.length} images (COCO results format): ${join(out, 'detections.json')}; drawn: ${files.length} PNGs in ${join(out, 'images')}${skippedNote}\n`);
        } finally {
          run.detector.dispose();
        }
      }),
  );

  program.addCommand(
    new Command('convert')
      .description('YOLO txt labels or Pascal VOC XML to a COCO instances JSON (train with --train-json/--train-images)')
      .addOption(new Option('--from <format>', 'label format').choices(['yolo', 'voc']).makeOptionMandatory())
      .requiredOption('--images <dir>', 'the images folder (file_names in the output are relative to it)')
      .requiredOption('--labels <dir>', 'yolo: folder of .txt files mirroring --images; voc: the Annotations folder of .xml files')
      .option('--classes <file>', 'class names, one per line (required for yolo; for voc it fixes the order, default: names found, sorted)')
      .requiredOption('--out <file>', 'the COCO JSON to write (an existing file is not replaced)')
      .action(async (o: { from: 'yolo' | 'voc'; images: string; labels: string; classes?: string; out: string }) => {
        const { convertVoc, convertYolo, readClassNames, writeInstances } = await import('./convert.js');
        const out = resolve(o.out);
        if (existsSync(out)) throw new Error(`--out: ${out} already exists; remove it or choose another name`);
        if (o.from === 'yolo' && o.classes === undefined) throw new Error('--from yolo needs --classes <file> (class names, one per line, in class-index order)');
        const names = o.classes === undefined ? undefined : readClassNames(o.classes);
        const { instances, unlabelled } = o.from === 'yolo' ? convertYolo(o.images, o.labels, names!) : convertVoc(o.images, o.labels, names);
        writeInstances(out, instances);
        const note = unlabelled > 0 ? ` (${unlabelled} images without a label file kept as negatives)` : '';
        io.out(`${instances.images.length} images, ${instances.annotations.length} boxes, ${instances.categories.length} classes${note}: ${out}\n`);
      }),
  );

  program.addCommand(
    new Command('browse')
      .description('ground-truth boxes drawn on a mosaic of images of a split, to check a dataset before training')
      .requiredOption('--data <spec>', 'as hpf train --data (a COCO folder, the COCO-2017 layout, digits-det:quick, ...)')
      .addOption(new Option('--split <name>', 'which split').choices(['train', 'val']).default('train'))
      .option('--count <n>', 'images in the mosaic, spread evenly over the split', intArg('--count', 1), 16)
      .option('--out <file>', 'the PNG to write (default: browse-<split>.png)')
      .option('--data-cache <dir>', 'where digits-det sets are generated', 'runs/data')
      .action(async (o: { data: string; split: 'train' | 'val'; count: number; out?: string; dataCache: string }) => {
        const { resolveData, readSplit } = await import('./data-source.js');
        const { loadImage, writeFileAtomic, formatSummary } = await import('@hpf/data');
        const { drawMosaicPng } = await import('./draw.js');
        const dataset = readSplit(resolveData(o.data, { cacheDir: o.dataCache })[o.split]);
        if (dataset.images.length === 0) throw new Error(`${dataset.annotationFile}: the split has no images`);
        const n = Math.min(o.count, dataset.images.length);
        const picked = Array.from({ length: n }, (_, i) => dataset.images[Math.floor((i * dataset.images.length) / n)]!);
        const tiles = picked.map((im) => ({
          image: loadImage(dataset, im),
          boxes: Array.from(im.labels, (label, b) => ({ box: Array.from(im.boxes.subarray(4 * b, 4 * b + 4)), label })),
          caption: `id ${im.id} ${im.fileName}`,
        }));
        const out = resolve(o.out ?? `browse-${o.split}.png`);
        writeFileAtomic(out, drawMosaicPng(tiles, dataset.categories.map((c) => c.name)));
        io.out(`${formatSummary(dataset)}\n${n} of ${dataset.images.length} images with their ground truth: ${out}\n`);
      }),
  );

  program.addCommand(
    new Command('export')
      .description('a trained run as a model folder for @hpf/model loadDetector (Node or browser): model.json + weight shards, BatchNorm folded')
      .requiredOption('--run <dir>', 'run folder written by hpf train')
      .option('--checkpoint <file>', 'the checkpoint in the run folder to use, e.g. best.hpf (a path relative to --run, or absolute)', 'checkpoint.hpf')
      .requiredOption('--out <dir>', 'new (or empty) folder for model.json and the .bin shards')
      .option('--backend <name>', 'tfjs backend')
      .action(async (o: { run: string; checkpoint: string; out: string; backend?: string }) => {
        await startBackend(o.backend, undefined, io);
        const { exportRun } = await import('./export.js');
        const result = await exportRun(o.run, o.out, o.checkpoint);
        const bytes = result.files.reduce((sum, f) => sum + f.bytes, 0);
        io.out(`${result.detector} (iteration ${result.iteration}) exported to ${result.dir}: ${result.files.length} files, ${(bytes / 1024).toFixed(0)} KiB\n`);
      }),
  );

  const bench = new Command('bench').description('benchmarks');
  bench.addCommand(
    new Command('stable-gain')
      .description('the stable-gain protocol: baseline vs HPF per detector and seed, one process per run, resumable, shardable')
      .addOption(new Option('--preset <name>', 'quick: digits-det quick; full: digits-det full').choices(['quick', 'full']).default('quick'))
      .option('--detectors <list>', `'all' or a comma list of ${detectorNames().join(', ')}`, 'all')
      .option('--seeds <n>', 'seeds 0..n-1 (a larger n on an existing bench folder adds seeds and keeps its runs)', intArg('--seeds', 1), 3)
      .option('--jobs <n>', 'runs in parallel (one process each)', intArg('--jobs', 1), 2)
      .option('--out <dir>', 'bench folder (re-run the same command to resume)', 'runs/stable-gain')
      .option('--steps <n>', 'iterations per run (default: the preset\'s)', intArg('--steps', 1))
      .option('--batch-size <n>', 'images per iteration (default: the preset\'s)', intArg('--batch-size', 1))
      .option('--lr <lr>', 'base learning rate (default: the preset\'s)', floatArg('--lr', 0, true))
      .option('--backbone <preset>', 'backbone preset (default: the preset\'s)')
      .option('--hpf-delta <delta>', 'HPF delta of the hpf arm (the same for every detector)', floatArg('--hpf-delta'), 0.5)
      .option('--train-arg <arg>', 'extra argument passed to every hpf train run, repeatable (e.g. --train-arg=--input-size=96)', (v: string, p: string[] = []) => [...p, v])
      .option('--shard <i/n>', 'run only slice i of n of the runs (one per machine; hpf report merges the folders)')
      .action(async (o: { preset: 'quick' | 'full'; detectors: string; seeds: number; jobs: number; out: string; steps?: number; batchSize?: number; lr?: number; backbone?: string; hpfDelta: number; trainArg?: string[]; shard?: string }) => {
        const shard = o.shard === undefined ? undefined : parseShard(o.shard);
        const preset = BENCH_PRESETS[o.preset];
        const config: BenchConfig = {
          format: 1,
          preset: o.preset,
          detectors: parseDetectorList(o.detectors),
          seeds: Array.from({ length: o.seeds }, (_, i) => i),
          data: preset.data,
          steps: o.steps ?? preset.steps,
          // An explicit --steps is one budget for every detector.
          ...(o.steps === undefined && Object.keys(preset.stepsByDetector).length > 0 ? { stepsByDetector: { ...preset.stepsByDetector } } : {}),
          batchSize: o.batchSize ?? preset.batchSize,
          lr: o.lr ?? preset.lr,
          // An explicit --lr is one rate for every detector.
          ...(o.lr === undefined && Object.keys(preset.lrByDetector).length > 0 ? { lrByDetector: { ...preset.lrByDetector } } : {}),
          backbone: o.backbone ?? preset.backbone,
          hpfDelta: o.hpfDelta,
          extraArgs: [...preset.trainArgs, ...(o.trainArg ?? [])],
        };
        const cliPath = process.argv[1];
        if (cliPath === undefined || !existsSync(cliPath)) throw new Error('hpf bench: cannot find the hpf entry script to start runs with');
        const { signal, release } = abortOnSignals(io);
        try {
          const outcome = await runBench(o.out, config, { jobs: o.jobs, cliPath, signal, log: (l) => io.out(`[bench] ${l}\n`), ...(shard === undefined ? {} : { shard }) });
          if (signal.aborted) {
            io.out(`[bench] interrupted: finished runs are kept; re-run the same command to continue\n`);
            process.exitCode = 130;
            return;
          }
          const { writeReport } = await import('./report.js');
          const { files } = await writeReport(o.out);
          io.out(`[bench] ${outcome.done.length} runs finished now, ${outcome.skipped.length} earlier, ${outcome.failed.length} failed\n[bench] report: ${files[0]}\n`);
          if (outcome.failed.length > 0) process.exitCode = 1;
        } finally {
          release();
        }
      }),
  );
  program.addCommand(bench);

  program.addCommand(
    new Command('report')
      .description('Markdown table, JSON and charts (SVG + PNG) of a stable-gain bench folder, or of its shards merged')
      .argument('<bench-dirs...>', 'folder(s) written by hpf bench stable-gain (the shards of one bench)')
      .option('--out <dir>', 'where to write report.md, report.json and the charts (default: the first bench folder)')
      .action(async (dirs: string[], o: { out?: string }) => {
        const { writeReport } = await import('./report.js');
        const { markdown, files } = await writeReport(dirs, o.out === undefined ? {} : { outDir: o.out });
        io.out(`${markdown}\nwritten: ${files.join(', ')}\n`);
      }),
  );

  program.addCommand(
    new Command('detectors').description('list the detectors, whether their adapter loads, and their small-input setting').action(async () => {
      for (const name of detectorNames()) {
        const status = await loadDetectorFactory(name).then(
          () => 'available',
          (e: unknown) => (e instanceof Error ? e.message : String(e)),
        );
        io.out(`${name.padEnd(11)} ${status}\n  small inputs: ${DETECTORS[name]!.smallInputNote} ${JSON.stringify(DETECTORS[name]!.smallInput)}\n`);
      }
    }),
  );
  // addCommand() does not pass these settings down (only .command() does): apply them to all.
  const configure = (cmd: Command): void => {
    cmd.configureOutput({ writeOut: io.out, writeErr: io.err }).exitOverride().showHelpAfterError('(run with --help for usage)');
    cmd.commands.forEach(configure);
  };
  configure(program);
  return program;
}
