import { parseArgs } from 'node:util';
import { writeDigitsDet } from './generate.js';
import { presetByName } from './presets.js';

const USAGE = `Usage: hpf-digits-det --out DIR [--preset quick|full] [--seed N] [--train N] [--val N]

Writes the digits-det benchmark as COCO folders DIR/train and DIR/val (instances.json + PNGs).
  --preset  quick (128 px, 512/128 images, default) or full (320 px, 4000/1000 images)
  --seed    integer seed (default 0): same seed, byte-identical output
  --train   override the number of train images
  --val     override the number of val images`;

function integer(name: string, value: string | undefined, fallback?: number): number | undefined {
  if (value === undefined) return fallback;
  if (!/^-?\d+$/.test(value)) throw new Error(`--${name} must be an integer, got "${value}"`);
  return Number(value);
}

/** The `hpf-digits-det` command: parses `argv` (without node and script) and writes the folders. */
export function runCli(argv: string[], log: (line: string) => void = console.log): void {
  const { values } = parseArgs({
    args: argv,
    options: {
      out: { type: 'string' },
      preset: { type: 'string', default: 'quick' },
      seed: { type: 'string', default: '0' },
      train: { type: 'string' },
      val: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    log(USAGE);
    return;
  }
  if (!values.out) throw new Error(`--out is required\n\n${USAGE}`);
  const preset = presetByName(values.preset!);
  const started = performance.now();
  const stats = writeDigitsDet(values.out, {
    preset,
    seed: integer('seed', values.seed)!,
    ...(values.train === undefined ? {} : { train: integer('train', values.train)! }),
    ...(values.val === undefined ? {} : { val: integer('val', values.val)! }),
  });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  for (const [split, s] of Object.entries(stats)) {
    log(`${values.out}/${split}: ${s.images} images, ${s.annotations} digits annotated, ${s.unannotated} digits left unannotated (hard negatives)`);
  }
  log(`digits-det ${preset.name} (${preset.imageSize} px) written in ${seconds} s`);
}

