import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CommanderError } from 'commander';
import { createProgram, evalOutputDir, hpfSetting, trainOptionsFromCli, type TrainCliOptions } from '../src/cli-app.js';
import { BENCH_PRESETS, trainArgs, type BenchConfig } from '../src/bench.js';
import { validateTrainOptions } from '../src/train.js';

function capture() {
  const io = { outText: '', errText: '', out: (t: string) => void (io.outText += t), err: (t: string) => void (io.errText += t) };
  return io;
}

async function run(args: string[]) {
  const io = capture();
  const program = createProgram(io);
  // Parse-only: replace every action so nothing trains; the parsed options are captured instead.
  let parsed: unknown;
  for (const cmd of [...program.commands, ...program.commands.flatMap((c) => c.commands)]) cmd.action((...a: unknown[]) => void (parsed = a.length > 2 ? a.slice(0, -1) : a[0]));
  let error: CommanderError | undefined;
  try {
    await program.parseAsync(['node', 'hpf', ...args]);
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    error = e;
  }
  return { io, parsed, error };
}

describe('hpf --help', () => {
  it('the program and every command print their usage', async () => {
    const top = await run(['--help']);
    expect(top.error?.code).toBe('commander.helpDisplayed');
    for (const name of ['train', 'eval', 'predict', 'export', 'bench', 'report', 'detectors']) expect(top.io.outText).toContain(name);
    for (const [args, needle] of [
      [['train', '--help'], '--hpf-delta <delta>'],
      [['eval', '--help'], '--run <dir>'],
      [['predict', '--help'], '--conf <s>'],
      [['export', '--help'], '--out <dir>'],
      [['bench', 'stable-gain', '--help'], '--jobs <n>'],
      [['report', '--help'], '<bench-dirs...>'],
    ] as const) {
      const r = await run([...args]);
      expect(r.error?.code, args.join(' ')).toBe('commander.helpDisplayed');
      expect(r.io.outText, args.join(' ')).toContain(needle);
    }
  });
});

describe('hpf --version and the bin', () => {
  it('prints the package version', async () => {
    const r = await run(['--version']);
    expect(r.error?.code).toBe('commander.version');
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(r.io.outText).toBe(`${pkg.version}\n`);
  });
  it('the bin file exists before any build, so npm links it on the first install', () => {
    const dir = fileURLToPath(new URL('..', import.meta.url));
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { bin: Record<string, string>; files: string[] };
    const bin = pkg.bin.hpf!;
    expect(bin.startsWith('./dist/')).toBe(false);
    expect(existsSync(join(dir, bin))).toBe(true);
    expect(readFileSync(join(dir, bin), 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(pkg.files).toContain(bin.replace(/^\.\//, '').split('/')[0]);
  });
});

describe('argument errors', () => {
  it('an unknown option is an error naming it', async () => {
    const r = await run(['train', '--detector', 'atss', '--data', 'x', '--out', 'y', '--bogus']);
    expect(r.error?.code).toBe('commander.unknownOption');
    expect(r.io.errText).toContain("unknown option '--bogus'");
  });
  it('an unknown detector is an error listing the known ones', async () => {
    const r = await run(['train', '--detector', 'yolo', '--data', 'x', '--out', 'y']);
    expect(r.io.errText).toContain("unknown detector 'yolo'; known detectors: atss, retinanet, fcos, gfl, foveabox, freeanchor, paa");
  });
  it('bad numbers and choices are errors naming the option', async () => {
    expect((await run(['train', '--detector', 'atss', '--data', 'x', '--out', 'y', '--steps', '2.5'])).io.errText).toContain('--steps must be an integer >= 1');
    expect((await run(['train', '--detector', 'atss', '--data', 'x', '--out', 'y', '--lr', '0'])).io.errText).toContain('--lr must be a number > 0');
    expect((await run(['bench', 'stable-gain', '--preset', 'huge'])).io.errText).toMatch(/'huge' is invalid/);
    expect((await run(['train', '--data', 'x', '--out', 'y'])).io.errText).toContain("required option '--detector <name>' not specified");
  });
});

describe('options a user gets wrong (named at the command line, before any work)', () => {
  const base = ['train', '--detector', 'atss', '--data', 'x', '--out', 'y'];
  it('rejects non-decimal numbers and momentum outside [0, 1)', async () => {
    expect((await run([...base, '--steps', '0x10'])).io.errText).toContain("--steps must be an integer >= 1, got '0x10'");
    expect((await run([...base, '--lr', '0x1'])).io.errText).toContain("--lr must be a number > 0, got '0x1'");
    expect((await run([...base, '--momentum', '5'])).io.errText).toContain("--momentum must be a number >= 0 and < 1, got '5'");
    expect((await run([...base, '--momentum', '1'])).io.errText).toContain('--momentum must be a number >= 0 and < 1');
    expect((await run([...base, '--hpf-momentum', '1.5'])).io.errText).toContain('--hpf-momentum must be a number >= 0 and < 1');
    const ok = await run([...base, '--momentum', '0.95', '--steps', '12', '--lr', '1e-3']);
    expect(ok.error).toBeUndefined();
    expect(ok.parsed).toMatchObject({ momentum: 0.95, steps: 12, lr: 0.001 });
  });
  it('rejects --lr-steps that are not ascending', async () => {
    expect((await run([...base, '--lr-steps', '5,3'])).io.errText).toContain("--lr-steps must be strictly ascending, got '5,3'");
    expect((await run([...base, '--lr-steps', '5,5'])).io.errText).toContain('--lr-steps must be strictly ascending');
  });
  it('rejects --lr-steps beyond --steps, before any work', async () => {
    const late = await run([...base, '--steps', '20', '--lr-steps', '5,30,40']);
    expect(() => trainOptionsFromCli(late.parsed as TrainCliOptions)).toThrow('--lr-steps 5,30,40: 30, 40 are beyond --steps 20, so the rate would never change there');
    expect(trainOptionsFromCli((await run([...base, '--steps', '20', '--lr-steps', '5,20'])).parsed as TrainCliOptions).lrSteps).toEqual([5, 20]);
  });
  it('--allow-backend-change reaches the run options', async () => {
    expect(trainOptionsFromCli((await run([...base, '--allow-backend-change'])).parsed as TrainCliOptions).allowBackendChange).toBe(true);
    expect(trainOptionsFromCli((await run(base)).parsed as TrainCliOptions).allowBackendChange).toBeUndefined();
  });
  it('--steps 1 without --lr-steps and --feat-channels that GroupNorm cannot split are named', async () => {
    const one = await run([...base, '--steps', '1']);
    expect(() => trainOptionsFromCli(one.parsed as TrainCliOptions)).toThrow('--steps 1: the default --lr-steps (2/3 and 11/12 of --steps) would be 1,1');
    const oneWithSteps = await run([...base, '--steps', '1', '--lr-steps', '1']);
    expect(trainOptionsFromCli(oneWithSteps.parsed as TrainCliOptions).lrSteps).toEqual([1]);
    expect(trainOptionsFromCli((await run([...base, '--steps', '2'])).parsed as TrainCliOptions).steps).toBe(2);
    const gn = await run([...base, '--feat-channels', '16']);
    expect(() => trainOptionsFromCli(gn.parsed as TrainCliOptions)).toThrow("--feat-channels 16: atss's head uses GroupNorm with 32 groups, so --feat-channels must be a multiple of 32");
    expect(trainOptionsFromCli((await run([...base, '--feat-channels', '64'])).parsed as TrainCliOptions).featChannels).toBe(64);
    // RetinaNet's head has no normalisation: any width builds.
    const retina = await run(['train', '--detector', 'retinanet', '--data', 'x', '--out', 'y', '--feat-channels', '16']);
    expect(trainOptionsFromCli(retina.parsed as TrainCliOptions).featChannels).toBe(16);
  });
});

describe('train options', () => {
  it('defaults and conversions', async () => {
    const r = await run(['train', '--detector', 'fcos', '--no-hpf', '--data', 'digits-det:quick', '--out', 'o', '--lr-steps', '100,200', '--set', 'centerSampling=false', '--set', 'topk=5', '--small-input', 'off']);
    expect(r.error).toBeUndefined();
    const options = trainOptionsFromCli(r.parsed as TrainCliOptions);
    expect(options).toMatchObject({ detector: 'fcos', hpf: false, steps: 300, batchSize: 8, lr: 0.01, lrSteps: [100, 200], seed: 0, smallInput: false, resume: false, evaluate: true });
    expect(options.detectorOptions).toEqual({ centerSampling: false, topk: 5 });
  });
  it('--val-every takes iterations or epochs (2e), --patience and --log-every reach the options', async () => {
    const base = ['train', '--detector', 'atss', '--data', 'd', '--out', 'o'];
    const plain = trainOptionsFromCli((await run(base)).parsed as TrainCliOptions);
    expect([plain.valEvery, plain.valEveryEpochs, plain.patience, plain.logEvery]).toEqual([0, undefined, undefined, 25]);
    const iterations = trainOptionsFromCli((await run([...base, '--val-every', '500', '--patience', '3', '--log-every', '10'])).parsed as TrainCliOptions);
    expect([iterations.valEvery, iterations.valEveryEpochs, iterations.patience, iterations.logEvery]).toEqual([500, undefined, 3, 10]);
    const epochs = trainOptionsFromCli((await run([...base, '--val-every', '2e'])).parsed as TrainCliOptions);
    expect([epochs.valEvery, epochs.valEveryEpochs]).toEqual([undefined, 2]);
    for (const bad of ['2.5', '0e', 'e', '2ep', '-1']) {
      const r = await run([...base, '--val-every', bad]);
      expect(r.io.errText, bad).toContain(`--val-every takes iterations (e.g. 500) or epochs with an 'e' (e.g. 2e), got '${bad}'`);
    }
    expect((await run([...base, '--patience', '0'])).io.errText).toContain("--patience must be an integer >= 1, got '0'");
    const help = await run(['train', '--help']);
    expect(help.io.outText).toMatch(/--val-every <n>[^]*\(default: 0\)/);
    for (const cmd of ['eval', 'predict', 'export']) expect((await run([cmd, '--help'])).io.outText, cmd).toContain('--checkpoint <file>');
    // hpf eval of best.hpf writes beside, not over, the evaluation of checkpoint.hpf
    expect(evalOutputDir('/runs/a', '/runs/a/checkpoint.hpf')).toBe('/runs/a');
    expect(evalOutputDir('/runs/a', '/runs/a/best.hpf')).toBe('/runs/a/eval-best');
  });
  it('--scale-jitter and --color-jitter: off by default, parsed into the data loader\'s options, bad values named', async () => {
    const base = ['train', '--detector', 'atss', '--data', 'x', '--out', 'y'];
    const plain = trainOptionsFromCli((await run(base)).parsed as TrainCliOptions);
    expect(plain).not.toHaveProperty('scaleJitter');
    expect(plain).not.toHaveProperty('colorJitter');
    const on = trainOptionsFromCli((await run([...base, '--scale-jitter', '0.5,1.5', '--color-jitter', '0.4'])).parsed as TrainCliOptions);
    expect(on.scaleJitter).toEqual([0.5, 1.5]);
    expect(on.colorJitter).toEqual({ brightness: 0.4, contrast: 0.4, saturation: 0.4 });
    const four = trainOptionsFromCli((await run([...base, '--color-jitter', '0.2,0.3,0.4,0.05'])).parsed as TrainCliOptions);
    expect(four.colorJitter).toEqual({ brightness: 0.2, contrast: 0.3, saturation: 0.4, hue: 0.05 });
    expect((await run([...base, '--scale-jitter', '1.5,0.5'])).io.errText).toContain("--scale-jitter takes min,max with 0 < min <= max (e.g. 0.5,1.5), got '1.5,0.5'");
    expect((await run([...base, '--scale-jitter', '0,1'])).io.errText).toContain('--scale-jitter takes min,max with 0 < min <= max');
    expect((await run([...base, '--scale-jitter', '1.2'])).io.errText).toContain("got '1.2'");
    expect((await run([...base, '--color-jitter', '0.4,0.4'])).io.errText).toContain("--color-jitter takes v, or b,c,s, or b,c,s,h: numbers >= 0 (e.g. 0.4 or 0.4,0.4,0.4,0.1), got '0.4,0.4'");
    expect((await run([...base, '--color-jitter', '0.4,0.4,0.4,0.7'])).io.errText).toContain('the hue jitter (4th value) must be <= 0.5');
    // the library entry checks them too, naming the option
    expect(() => validateTrainOptions({ ...on, scaleJitter: [2, 1] })).toThrow('--scale-jitter must be [min, max] with 0 < min <= max, got [2,1]');
    expect(() => validateTrainOptions({ ...on, colorJitter: { hue: 1 } })).toThrow('--color-jitter.hue must be <= 0.5');
  });
  it('the bench presets (and the demo, which runs the quick preset) train without augmentation, with their arguments unchanged', async () => {
    expect(BENCH_PRESETS.quick.trainArgs).toEqual(['--neck-channels', '32', '--feat-channels', '32', '--stacked-convs', '2', '--clip-grad-norm', '35', '--val-every', '500']);
    expect(BENCH_PRESETS.full.trainArgs).toEqual([]);
    for (const [name, preset] of Object.entries(BENCH_PRESETS)) {
      const config: BenchConfig = { format: 1, preset: name as 'quick' | 'full', detectors: ['atss'], seeds: [0], data: preset.data, steps: preset.steps, batchSize: preset.batchSize, lr: preset.lr, backbone: preset.backbone, hpfDelta: 0.5, extraArgs: [...preset.trainArgs] };
      const args = trainArgs(config, { id: 'atss-seed0-hpf', detector: 'atss', seed: 0, hpf: true, dir: '/nonexistent/run' }, '/d');
      expect(args.join(' ')).not.toMatch(/jitter/);
      const r = await run(args);
      expect(r.error).toBeUndefined();
      const options = trainOptionsFromCli(r.parsed as TrainCliOptions);
      expect(options).not.toHaveProperty('scaleJitter');
      expect(options).not.toHaveProperty('colorJitter');
      expect(options.flipProbability).toBe(0.5);
    }
  });
  it('--hpf, --no-hpf and --hpf-delta map to the adapters\' hpf option', () => {
    expect(hpfSetting({})).toBe(true);
    expect(hpfSetting({ hpf: true })).toBe(true);
    expect(hpfSetting({ hpf: false })).toBe(false);
    expect(hpfSetting({ hpfDelta: 0.25 })).toEqual({ delta: 0.25 });
    expect(hpfSetting({ hpfDelta: 0.25, hpfMomentum: 0.9 })).toEqual({ delta: 0.25, momentum: 0.9 });
    expect(() => hpfSetting({ hpf: false, hpfDelta: 0.25 })).toThrow('--no-hpf cannot be combined with --hpf-delta');
  });
});
