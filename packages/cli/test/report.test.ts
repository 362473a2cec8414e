import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { openBench, parseShard, planRuns, readTimings, runBench, runStatus, shardRuns, trainArgs, wasmThreadsPerJob, type BenchConfig } from '../src/bench.js';
import { deltaChartSpec } from '../src/charts.js';
import { codeVersion } from '../src/version.js';
import { curvePoints, formatMarkdown, summarizeBench, writeReport } from '../src/report.js';
import { mean, pairedSummary, sampleSd, tInterval95 } from '../src/stats.js';

const config = (over: Partial<BenchConfig> = {}): BenchConfig => ({
  format: 1,
  preset: 'quick',
  detectors: ['atss', 'fcos'],
  seeds: [0, 1, 2],
  data: 'digits-det:quick',
  steps: 20,
  batchSize: 4,
  lr: 0.01,
  backbone: 'resnet18-mini',
  hpfDelta: 0.5,
  extraArgs: [],
  ...over,
});

describe('statistics', () => {
  it('mean, sample sd, paired delta and wins match hand-computed values', () => {
    expect(mean([0.3, 0.4, 0.5])).toBeCloseTo(0.4, 15);
    // deviations -0.1, 0, 0.1: sum of squares 0.02 / (3 - 1) = 0.01 -> sd 0.1
    expect(sampleSd([0.3, 0.4, 0.5])).toBeCloseTo(0.1, 15);
    expect(sampleSd([0.3])).toBeNull();
    const s = pairedSummary([0.30, 0.32, 0.35], [0.33, 0.31, 0.39]);
    // deltas 0.03, -0.01, 0.04: mean 0.02; deviations 0.01, -0.03, 0.02 -> (1e-4 + 9e-4 + 4e-4) / 2 = 7e-4
    expect(s.delta.values.map((d) => +d.toFixed(12))).toEqual([0.03, -0.01, 0.04]);
    expect(s.delta.mean).toBeCloseTo(0.02, 12);
    expect(s.delta.sd!).toBeCloseTo(Math.sqrt(7e-4), 12);
    expect(s.baseline.mean).toBeCloseTo(0.97 / 3, 12);
    expect(s.hpf.mean).toBeCloseTo(1.03 / 3, 12);
    expect(s.wins).toBe(2);
    expect(s.losses).toBe(1);
    expect(pairedSummary([0.5], [0.5])).toMatchObject({ wins: 0, losses: 0, delta: { mean: 0, sd: null } });
    expect(() => pairedSummary([0.1, 0.2], [0.1])).toThrow('same non-zero number of values');
  });

  it('the 95% t-interval uses Student t quantiles (tables: t(0.975; 1) = 12.7062, t(0.975; 2) = 4.3027)', () => {
    // mean 0.02, sd sqrt(7e-4) over 3 values: half-width 4.302653 * 0.0264575 / sqrt(3) = 0.0657237
    const [lo, hi] = tInterval95([0.03, -0.01, 0.04])!;
    expect(lo).toBeCloseTo(0.02 - 0.0657237, 6);
    expect(hi).toBeCloseTo(0.02 + 0.0657237, 6);
    // two values 0.03, -0.01: mean 0.01, sd 0.0282843, half-width 12.7062 * 0.0282843 / sqrt(2) = 0.254124
    const two = tInterval95([0.03, -0.01])!;
    expect(two[0]).toBeCloseTo(0.01 - 0.254124, 5);
    expect(two[1]).toBeCloseTo(0.01 + 0.254124, 5);
    expect(tInterval95([0.5])).toBeNull();
    expect(pairedSummary([0.30, 0.32, 0.35], [0.33, 0.31, 0.39]).delta.ci95![0]).toBeCloseTo(0.02 - 0.0657237, 6);
  });
});

function fakeResult(detector: string, seed: number, hpf: boolean, ap: number) {
  const levels = 5;
  return {
    detector,
    hpf,
    seed,
    steps: 20,
    batchSize: 4,
    inputSize: 128,
    backend: 'wasm',
    trainSeconds: 1,
    stats: { AP: ap, AP50: ap + 0.2, AP75: ap - 0.05, APs: ap - 0.1, APm: ap, APl: -1, AR1: 0, AR10: 0, AR100: 0, ARs: 0, ARm: 0, ARl: 0 },
    history: Array.from({ length: 20 }, (_, i) => ({ iteration: i, lr: 0.01, losses: { total: 1 }, gammas: Array.from({ length: levels }, (_, l) => (hpf ? 2.5 - (0.05 * i) / (l + 1) : 2)), positives: [1, 1, 1, 1, 1] })),
  };
}

describe('bench bookkeeping and report', () => {
  it('runs are pending, partial (checkpoint) or done (result.json); a resumed partial run gets --resume', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hpf-bench-'));
    const c = config();
    openBench(dir, c);
    const runs = planRuns(c, dir);
    expect(runs.map((r) => r.id)).toEqual([
      'atss-seed0-baseline', 'atss-seed0-hpf', 'fcos-seed0-baseline', 'fcos-seed0-hpf',
      'atss-seed1-baseline', 'atss-seed1-hpf', 'fcos-seed1-baseline', 'fcos-seed1-hpf',
      'atss-seed2-baseline', 'atss-seed2-hpf', 'fcos-seed2-baseline', 'fcos-seed2-hpf',
    ]);
    expect(runs.every((r) => runStatus(r) === 'pending')).toBe(true);
    mkdirSync(runs[0]!.dir, { recursive: true });
    writeFileSync(join(runs[0]!.dir, 'checkpoint.hpf'), 'x');
    mkdirSync(runs[1]!.dir, { recursive: true });
    writeFileSync(join(runs[1]!.dir, 'result.json'), '{}');
    expect(runs.slice(0, 3).map(runStatus)).toEqual(['partial', 'done', 'pending']);
    expect(trainArgs(c, runs[0]!, '/d')).toContain('--resume');
    expect(trainArgs(c, runs[0]!, '/d')).toContain('--no-hpf');
    expect(trainArgs(c, runs[2]!, '/d')).not.toContain('--resume');
    expect(trainArgs(c, runs[1]!, '/d').join(' ')).toContain('--hpf --data digits-det:quick');
    expect(trainArgs(c, runs[1]!, '/d').join(' ')).toContain('--seed 0');
    // reopening with other settings is refused, naming the setting
    expect(() => openBench(dir, config({ steps: 40 }))).toThrow('was started with steps = 20, now 40');
    expect(() => openBench(dir, c)).not.toThrow();
    // More seeds extend the bench (bench.json now lists them); fewer or other seeds do not.
    expect(() => openBench(dir, config({ seeds: [1] }))).toThrow('was started with seeds = [0,1,2], now [1]');
    expect(openBench(dir, config({ seeds: [0, 1, 2, 3, 4] }))).toEqual([3, 4]);
    expect(JSON.parse(readFileSync(join(dir, 'bench.json'), 'utf8')).seeds).toEqual([0, 1, 2, 3, 4]);
    expect(planRuns(config({ seeds: [0, 1, 2, 3, 4] }), dir).slice(0, 2).map(runStatus)).toEqual(['partial', 'done']);
    expect(openBench(dir, config({ seeds: [0, 1, 2, 3, 4] }))).toEqual([]);
    expect(() => openBench(dir, config({ seeds: [0, 1, 2, 3, 4, 5], steps: 40 }))).toThrow('was started with steps = 20, now 40');
    expect(JSON.parse(readFileSync(join(dir, 'bench.json'), 'utf8')).seeds).toEqual([0, 1, 2, 3, 4]);
  });

  it('per-detector steps and lr replace the shared ones for both arms of that detector only', () => {
    const c = config({ lr: 0.03, lrByDetector: { fcos: 0.01 }, stepsByDetector: { fcos: 60 } });
    const runs = planRuns(c, mkdtempSync(join(tmpdir(), 'hpf-bench-')));
    const option = (args: string[], name: string) => args[args.indexOf(name) + 1];
    const [atssBase, , fcosBase, fcosHpf] = runs.map((r) => trainArgs(c, r, '/d'));
    expect([option(atssBase!, '--steps'), option(atssBase!, '--lr')]).toEqual(['20', '0.03']);
    expect([option(fcosBase!, '--steps'), option(fcosBase!, '--lr')]).toEqual(['60', '0.01']);
    expect([option(fcosHpf!, '--steps'), option(fcosHpf!, '--lr')]).toEqual(['60', '0.01']);
  });

  it('the report has the hand-computed table, JSON and charts (SVG parses, PNG decodes)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hpf-report-'));
    const c = config({ detectors: ['atss', 'fcos'], seeds: [0, 1] });
    openBench(dir, c);
    const aps: Record<string, [number, number][]> = { atss: [[0.30, 0.33], [0.32, 0.31]], fcos: [[0.20, 0.25], [0.22, 0.26]] };
    for (const r of planRuns(c, dir)) {
      if (r.detector === 'fcos' && r.seed === 1 && r.hpf) continue; // unfinished: its pair is left out
      mkdirSync(r.dir, { recursive: true });
      writeFileSync(join(r.dir, 'result.json'), JSON.stringify(fakeResult(r.detector, r.seed, r.hpf, aps[r.detector]![r.seed]![r.hpf ? 1 : 0]!)));
    }
    const numbers = summarizeBench(dir);
    expect(numbers.missing).toEqual(['fcos-seed1-hpf']);
    const atss = numbers.detectors[0]!.metrics.AP!;
    expect(atss.delta.mean).toBeCloseTo(0.01, 12); // (0.03 + -0.01) / 2
    expect(atss.delta.sd!).toBeCloseTo(Math.sqrt(0.0008), 12); // deviations +-0.02 -> 0.0008 / 1
    expect(atss.wins).toBe(1);
    expect(numbers.detectors[1]!.metrics.AP!.n).toBe(1);
    expect(numbers.detectors[0]!.metrics.APl).toBeNull(); // -1: no large objects
    expect(numbers.summary).toEqual({
      detectorsImproved: 2,
      detectorsCompared: 2,
      meanApDelta: expect.closeTo((0.01 + 0.05) / 2, 12),
      pairsWon: 2,
      pairsCompared: 3,
      verdicts: { gain: [], loss: [], unresolved: ['atss'], 'one seed': ['fcos'], 'no data': [] },
      weakBaselines: [],
      claim: 'not resolved',
    });
    expect(numbers.detectors[0]!.finalGamma.baseline).toEqual([2, 2, 2, 2, 2]);

    // The delta chart's bar is the verdict's 95% interval (in points); a one-seed detector gets none.
    const spec = deltaChartSpec(
      [{ detector: 'atss', seed: 0, delta: 0.03 }],
      numbers.detectors.map((d) => ({ detector: d.detector, mean: d.metrics.AP!.delta.mean, ci95: d.metrics.AP!.delta.ci95 })),
    ) as unknown as { layer: Array<{ data?: { values: Array<Record<string, number | string>> } }> };
    const [bars, , , means, seeds] = spec.layer.slice(1).map((l) => l.data!.values);
    expect(bars).toHaveLength(1);
    expect(bars![0]!.detector).toBe('atss');
    expect(bars![0]!.lo).toBeCloseTo(-24.41, 2);
    expect(bars![0]!.hi).toBeCloseTo(26.41, 2);
    expect(means!.map((m) => [m.detector, Number((m.mean as number).toFixed(6))])).toEqual([['atss', 1], ['fcos', 5]]);
    expect(seeds![0]!.delta).toBeCloseTo(3, 12);
    const { markdown, files } = await writeReport(dir);
    expect(markdown).toContain('| atss | 2 | 31.00 ± 1.41 | 32.00 ± 1.41 | +1.00 ± 2.83 | [-24.41, +26.41] | 1/2 |');
    expect(markdown).toContain('| fcos | 1 | 20.00 | 25.00 | +5.00 | n/a | 1/1 |');
    expect(markdown).toContain('HPF improved AP for 2 of 2 detectors; mean AP delta +3.00 points. HPF is higher in 2 of 3 paired runs (detector x seed).');
    expect(markdown).toContain('gain (above zero): none; loss (below zero): none; not resolved (contains zero): atss; one seed only (no interval): fcos.');
    expect(markdown).toContain("**These runs do not yet resolve the claim:** 1 runs are unfinished, no detector's interval lies below zero, and atss, fcos have no interval above zero yet.");
    expect(markdown).toContain('Runs not finished (left out): fcos-seed1-hpf.');
    const json = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
    expect(json.detectors[0].metrics.AP.wins).toBe(1);
    const svgs = files.filter((f) => f.endsWith('.svg'));
    const pngs = files.filter((f) => f.endsWith('.png'));
    expect(svgs.map((f) => f.slice(dir.length + 1))).toEqual(['ap-delta.svg', 'gamma-atss.svg', 'curves-atss.svg', 'gamma-fcos.svg', 'curves-fcos.svg']);
    for (const f of svgs) {
      const svg = readFileSync(f, 'utf8');
      expect(svg.startsWith('<svg')).toBe(true);
      expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
      const width = Number(/width="(\d+(?:\.\d+)?)"/.exec(svg)![1]);
      const height = Number(/height="(\d+(?:\.\d+)?)"/.exec(svg)![1]);
      const png = PNG.sync.read(readFileSync(f.replace(/\.svg$/, '.png')));
      // rasterised at 2x
      expect(png.width).toBe(Math.round(2 * width));
      expect(png.height).toBe(Math.round(2 * height));
    }
    expect(pngs).toHaveLength(5);
  });

  it('the setup section states backend, machine and wall time summed over bench sessions', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hpf-setup-'));
    const c = config({ detectors: ['atss'], seeds: [0], extraArgs: ['--stacked-convs', '2'] });
    openBench(dir, c);
    for (const r of planRuns(c, dir)) {
      mkdirSync(r.dir, { recursive: true });
      writeFileSync(join(r.dir, 'result.json'), JSON.stringify({ ...fakeResult(r.detector, r.seed, r.hpf, 0.3), trainSeconds: r.hpf ? 100 : 80 }));
    }
    const machine = { cpu: 'Test CPU', cores: 2, memoryGiB: 24, node: 'v20.0.0', platform: 'linux-x64' };
    const timing = (id: string, start: string, end: string, session: number, jobs: number) => ({ id, start, end, wallSeconds: (Date.parse(end) - Date.parse(start)) / 1000, exit: 0, session, machine, jobs });
    // session 0: two parallel runs spanning 10:00:00-10:02:00; session 1 (a resume, 1 job): 11:00:00-11:00:30
    writeFileSync(join(dir, 'timing.json'), JSON.stringify({ runs: [
      timing('atss-seed0-baseline', '2026-01-01T10:00:00Z', '2026-01-01T10:01:30Z', 0, 2),
      timing('x', '2026-01-01T10:00:10Z', '2026-01-01T10:02:00Z', 0, 2),
      // the hpf arm failed once under one commit and finished under another: the finishing one counts
      { ...timing('atss-seed0-hpf', '2026-01-01T10:00:00Z', '2026-01-01T10:00:20Z', 0, 2), exit: 1, code: { version: '0.1.0', commit: 'aaaaaaaaaaaa' } },
      { ...timing('atss-seed0-hpf', '2026-01-01T11:00:00Z', '2026-01-01T11:00:30Z', 1, 1), code: { version: '0.2.0', commit: null } },
    ] }));
    const { setup } = summarizeBench(dir);
    expect(setup).toEqual({ code: [{ code: 'not recorded', runs: 1 }, { code: '@hpf/cli 0.2.0', runs: 1 }], backends: ['wasm'], machines: [machine], wallSeconds: 150, jobs: [2, 1], trainSecondsPerRun: { atss: 90 } });
    const md = formatMarkdown(summarizeBench(dir));
    expect(md).toContain('- Backend: wasm.');
    expect(md).toContain('- Machine: Test CPU, 2 cores, 24 GiB, Node v20.0.0, linux-x64.');
    expect(md).toContain('- Arguments of every run: `--stacked-convs 2`.');
    expect(md).toContain('- Wall time: 2.5 min, 2 sessions (runs at a time: 2, 1).');
    expect(md).toContain('- Training seconds per run (mean of both arms): atss 90.');
    expect(md).toContain('- Code: not recorded (1 runs); @hpf/cli 0.2.0 (1 runs).');
    writeFileSync(join(dir, 'timing.json'), '{"nope": 1}');
    expect(() => summarizeBench(dir)).toThrow('timing.json: expected {"runs": [...]}');
  });

  it('runBench runs each run in its own process, records wall time per run and sessions, and skips finished runs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hpf-runbench-'));
    const data = join(dir, 'coco');
    for (const split of ['train', 'val']) {
      mkdirSync(join(data, split), { recursive: true });
      writeFileSync(join(data, split, 'instances.json'), '{}');
    }
    // A stand-in for dist/cli.js: writes result.json (with the wasm threads it was given: the
    // caller's 8, capped at cores / jobs) into --out, fails for fcos.
    const fakeCli = join(dir, 'fake-cli.mjs');
    writeFileSync(fakeCli, [
      "import { writeFileSync } from 'node:fs';",
      'const a = process.argv.slice(2);',
      "const out = a[a.indexOf('--out') + 1];",
      "if (a[a.indexOf('--detector') + 1] === 'fcos') process.exit(3);",
      "writeFileSync(out + '/result.json', JSON.stringify({ threads: process.env.HPF_WASM_THREADS }));",
    ].join('\n'));
    const c = config({ detectors: ['atss', 'fcos'], seeds: [0], data });
    const callerThreads = process.env.HPF_WASM_THREADS;
    process.env.HPF_WASM_THREADS = '8';
    const first = await runBench(dir, c, { jobs: 2, cliPath: fakeCli }).finally(() => {
      if (callerThreads === undefined) delete process.env.HPF_WASM_THREADS;
      else process.env.HPF_WASM_THREADS = callerThreads;
    });
    const resultOf = (id: string): unknown => JSON.parse(readFileSync(join(dir, 'runs', id, 'result.json'), 'utf8'));
    expect(resultOf('atss-seed0-hpf')).toEqual({ threads: String(wasmThreadsPerJob(2)) });
    expect(first.done.sort()).toEqual(['atss-seed0-baseline', 'atss-seed0-hpf']);
    expect(first.failed.map((f) => f.id).sort()).toEqual(['fcos-seed0-baseline', 'fcos-seed0-hpf']);
    expect(first.failed[0]!.reason).toContain('exit 3');
    let timings = readTimings(dir);
    expect(timings.map((t) => t.id).sort()).toEqual(planRuns(c, dir).map((r) => r.id).sort());
    expect(timings.every((t) => t.session === 0 && t.jobs === 2 && t.wallSeconds > 0 && t.machine.cores > 0)).toBe(true);
    expect(timings.filter((t) => t.exit === 3)).toHaveLength(2);
    // each entry names the code that ran it: this package's version and, in a checkout, its commit
    const pkgVersion = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
    let head: string | null = null;
    try {
      head = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      // not a checkout: no commit is recorded
    }
    expect(timings.every((t) => t.code?.version === pkgVersion && (head === null ? t.code.commit === null : t.code.commit?.replace(/-dirty$/, '') === head))).toBe(true);
    // installed under node_modules inside another project's checkout: that checkout's commit is not ours
    const installed = join(mkdtempSync(join(tmpdir(), 'hpf-installed-')), 'node_modules', '@hpf', 'cli', 'dist');
    mkdirSync(installed, { recursive: true });
    const project = join(installed, '..', '..', '..', '..');
    execFileSync('git', ['init', '-q', project]);
    execFileSync('git', ['-C', project, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '--allow-empty', '-m', 'theirs']);
    expect(codeVersion(installed)).toEqual({ version: pkgVersion, commit: null });
    const second = await runBench(dir, c, { jobs: 1, cliPath: fakeCli });
    expect(second.skipped.sort()).toEqual(['atss-seed0-baseline', 'atss-seed0-hpf']);
    timings = readTimings(dir);
    expect(timings).toHaveLength(6);
    expect(timings.slice(4).every((t) => t.session === 1 && t.jobs === 1 && t.id.startsWith('fcos'))).toBe(true);
  });

  it('shares the cores out between concurrent runs as wasm threads (1 to 8 each)', () => {
    expect(wasmThreadsPerJob(1, 2)).toBe(2);
    expect(wasmThreadsPerJob(2, 2)).toBe(1);
    expect(wasmThreadsPerJob(3, 2)).toBe(1);
    expect(wasmThreadsPerJob(4, 16)).toBe(4);
    expect(wasmThreadsPerJob(1, 64)).toBe(8);
    expect(wasmThreadsPerJob(0, 4)).toBe(4);
  });

  it('--shard i/n takes every n-th run from i - 1; n shards cover the plan once; bad specs are named', () => {
    const runs = planRuns(config(), '/b');
    const shards = [1, 2, 3].map((i) => shardRuns(runs, parseShard(`${i}/3`)).map((r) => r.id));
    expect(shards[0]).toEqual(['atss-seed0-baseline', 'fcos-seed0-hpf', 'fcos-seed1-baseline', 'atss-seed2-hpf']);
    expect(shards.flat().sort()).toEqual(runs.map((r) => r.id).sort());
    expect(shardRuns(runs, undefined)).toHaveLength(12);
    for (const bad of ['0/3', '4/3', '1/0', 'x', '1-3']) expect(() => parseShard(bad)).toThrow(`--shard must be i/n with 1 <= i <= n (e.g. 2/4), got '${bad}'`);
  });

  it('the report merges shard folders, refuses folders of another bench, and states the verdicts and the claim', async () => {
    const c = config({ detectors: ['atss', 'fcos'], seeds: [0, 1, 2] });
    const a = mkdtempSync(join(tmpdir(), 'hpf-shard-a-'));
    const b = mkdtempSync(join(tmpdir(), 'hpf-shard-b-'));
    openBench(a, c);
    openBench(b, c);
    // atss gains on every seed (+2, +3, +4 points); fcos loses once: the claim does not hold.
    const aps: Record<string, [number, number][]> = { atss: [[0.30, 0.32], [0.31, 0.34], [0.29, 0.33]], fcos: [[0.20, 0.25], [0.22, 0.21], [0.2, 0.24]] };
    const runs = planRuns(c, a);
    shardRuns(runs, parseShard('1/2')).forEach((r) => writeRun(a, r.id, fakeResult(r.detector, r.seed, r.hpf, aps[r.detector]![r.seed]![r.hpf ? 1 : 0]!)));
    shardRuns(runs, parseShard('2/2')).forEach((r) => writeRun(b, r.id, fakeResult(r.detector, r.seed, r.hpf, aps[r.detector]![r.seed]![r.hpf ? 1 : 0]!)));
    expect(summarizeBench(a).missing).toHaveLength(6);
    const merged = summarizeBench([a, b]);
    expect(merged.missing).toEqual([]);
    expect(merged.detectors.map((d) => [d.detector, d.verdict])).toEqual([['atss', 'gain'], ['fcos', 'unresolved']]);
    expect(merged.summary.claim).toBe('does not hold');
    expect(merged.summary.weakBaselines).toEqual([]);
    const { markdown } = await writeReport([a, b], { outDir: mkdtempSync(join(tmpdir(), 'hpf-merged-')) });
    expect(markdown).toContain('**The claim does not hold here: a stable gain needs an interval above zero on every detector; 1 of 2 have one (atss).** On fcos the interval contains zero: these seeds show neither a gain nor a loss.');
    expect(merged.summary).toMatchObject({ pairsWon: 5, pairsCompared: 6 });
    expect(markdown).toContain('Every compared baseline reached AP >= 15.00.');
    const other = mkdtempSync(join(tmpdir(), 'hpf-other-'));
    openBench(other, config({ steps: 40 }));
    expect(() => summarizeBench([a, other])).toThrow(`${other}: not a shard of the same bench as ${a} (steps = 40 there, 20 here)`);
  });

  it('training curves average the loss terms over seeds in windows and take validation AP where every seed has it', () => {
    const r = (seed: number, scale: number) => ({
      ...fakeResult('atss', seed, false, 0.2 * scale),
      history: Array.from({ length: 200 }, (_, i) => ({ iteration: i, lr: 0.01, losses: { cls: scale * i, bbox: 1 }, gammas: [2], positives: [1] })),
      steps: 200,
      validations: [{ iteration: 100, ap: 0.1 * scale, ap50: 0, ap75: 0 }],
    });
    const points = curvePoints([r(0, 1), r(1, 3)] as never, 'baseline');
    // windows of 2 iterations: the first holds i = 0, 1 -> cls mean over seeds (0 + 1 + 0 + 3) / 4 = 1
    expect(points.filter((p) => p.panel === 'loss' && p.series === 'cls')[0]).toEqual({ panel: 'loss', series: 'cls', arm: 'baseline', iteration: 2, value: 1 });
    expect(points.filter((p) => p.panel === 'loss')).toHaveLength(200);
    expect(points.filter((p) => p.panel === 'val AP').map((p) => [p.iteration, +p.value.toFixed(10)])).toEqual([[100, 20], [200, 40]]);
  });
});

function writeRun(dir: string, id: string, result: unknown): void {
  mkdirSync(join(dir, 'runs', id), { recursive: true });
  writeFileSync(join(dir, 'runs', id, 'result.json'), JSON.stringify(result));
}
