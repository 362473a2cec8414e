import { describe, expect, it } from 'vitest';
import { CommanderError } from 'commander';
import { createProgram, hpfSetting, trainOptionsFromCli, type TrainCliOptions } from '../src/cli-app.js';

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
      [['predict', '--help'], '--score-threshold <s>'],
      [['export', '--help'], '--out <dir>'],
      [['bench', 'stable-gain', '--help'], '--jobs <n>'],
      [['report', '--help'], '<bench-dir>'],
    ] as const) {
      const r = await run([...args]);
      expect(r.error?.code, args.join(' ')).toBe('commander.helpDisplayed');
      expect(r.io.outText, args.join(' ')).toContain(needle);
    }
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

describe('train options', () => {
  it('defaults and conversions', async () => {
    const r = await run(['train', '--detector', 'fcos', '--no-hpf', '--data', 'digits-det:quick', '--out', 'o', '--lr-steps', '100,200', '--set', 'centerSampling=false', '--set', 'topk=5', '--small-input', 'off']);
    expect(r.error).toBeUndefined();
    const options = trainOptionsFromCli(r.parsed as TrainCliOptions);
    expect(options).toMatchObject({ detector: 'fcos', hpf: false, steps: 300, batchSize: 8, lr: 0.01, lrSteps: [100, 200], seed: 0, smallInput: false, resume: false, evaluate: true });
    expect(options.detectorOptions).toEqual({ centerSampling: false, topk: 5 });
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
