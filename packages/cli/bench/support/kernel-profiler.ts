/**
 * Per-kernel CPU time of the wasm backend, for the detector-step and detector-infer benches.
 *
 * Every registered wasm kernel is wrapped; while recording, the CPU time of each top-level call
 * (an engine kernel composed of wasm kernels counts once, in the outer kernel) is added under
 * `keyOf(kernel, inputs, part)` and to the current part (forward, backward, decode, ...), which the
 * caller sets as it goes. CPU time, not wall: the machine is shared, and wall time counts other
 * processes' turns on the core.
 */
import type { KernelConfig, NamedTensorInfoMap } from '@tensorflow/tfjs-core';

type Tf = typeof import('@tensorflow/tfjs-core');

/** Process CPU time in ms (user + system). */
export const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

export interface KernelProfile<Part extends string> {
  /** CPU ms per key, summed over the recording. */
  kernels: Map<string, number>;
  calls: Map<string, number>;
  /** CPU ms inside kernels per part. */
  partKernels: Record<Part, number>;
}

export class KernelProfiler<Part extends string> {
  /** The part that kernel time is currently booked to. */
  part: Part;
  private readonly parts: readonly Part[];
  private readonly keyOf: (kernelName: string, inputs: NamedTensorInfoMap, part: Part) => string;
  private readonly wrapped = new Map<KernelConfig, KernelConfig['kernelFunc']>();
  private recording: KernelProfile<Part> | null = null;
  private depth = 0;

  constructor(parts: readonly Part[], keyOf: (kernelName: string, inputs: NamedTensorInfoMap, part: Part) => string = (name) => name) {
    this.parts = parts;
    this.part = parts[0]!;
    this.keyOf = keyOf;
  }

  /** Wraps every kernel registered for wasm now (call after the engine's kernels are registered). */
  wrap(tf: Tf): void {
    for (const kernel of tf.getKernelsForBackend('wasm')) {
      const inner = kernel.kernelFunc;
      this.wrapped.set(kernel, inner);
      (kernel as { kernelFunc: typeof inner }).kernelFunc = (args) => {
        this.depth++;
        const start = cpuMs();
        try {
          return inner(args);
        } finally {
          this.depth--;
          const profile = this.recording;
          if (this.depth === 0 && profile !== null) {
            const ms = cpuMs() - start;
            const key = this.keyOf(kernel.kernelName, args.inputs, this.part);
            profile.kernels.set(key, (profile.kernels.get(key) ?? 0) + ms);
            profile.calls.set(key, (profile.calls.get(key) ?? 0) + 1);
            profile.partKernels[this.part] += ms;
          }
        }
      };
    }
  }

  unwrap(): void {
    for (const [kernel, inner] of this.wrapped) (kernel as { kernelFunc: typeof inner }).kernelFunc = inner;
    this.wrapped.clear();
  }

  start(): void {
    const partKernels = Object.fromEntries(this.parts.map((p) => [p, 0])) as Record<Part, number>;
    this.recording = { kernels: new Map(), calls: new Map(), partKernels };
  }

  get isRecording(): boolean {
    return this.recording !== null;
  }

  stop(): KernelProfile<Part> {
    const profile = this.recording;
    if (profile === null) throw new Error('KernelProfiler.stop: not recording');
    this.recording = null;
    return profile;
  }
}

export interface ProfileTableOptions {
  /** Recorded runs (steps or predicts); every number is per run. */
  runs: number;
  /** Mean CPU ms of one run: the 100% of the percentages. */
  meanMs: number;
  /** Kernels listed by name; the rest are summed in one row. */
  top: number;
  /** 'step' or 'predict', for the headings. */
  unit: string;
  /** Heading of the part column and of the kernel column. */
  partHeading: string;
  kernelHeading: string;
  /** Decimals of the kernel times. */
  digits: number;
}

/**
 * Markdown tables of a recording: per part (CPU, in kernels, JS = the rest), the count of top-level
 * kernel calls, and the kernels by time. `partCpu` is each part's whole CPU time, kernels included.
 */
export function profileTables<Part extends string>(profile: KernelProfile<Part>, partCpu: Record<Part, number>, o: ProfileTableOptions): string[] {
  const pct = (ms: number): string => `${((ms / o.meanMs) * 100).toFixed(1)}%`;
  const lines = [`| ${o.partHeading} | CPU ms | in kernels ms | JS outside kernels ms | % of ${o.unit} |`, '| --- | ---: | ---: | ---: | ---: |'];
  for (const part of Object.keys(partCpu) as Part[]) {
    const all = partCpu[part] / o.runs;
    const inKernels = profile.partKernels[part] / o.runs;
    lines.push(`| ${part} | ${all.toFixed(1)} | ${inKernels.toFixed(1)} | ${(all - inKernels).toFixed(1)} | ${pct(all)} |`);
  }
  const totalCalls = [...profile.calls.values()].reduce((a, b) => a + b, 0) / o.runs;
  lines.push('', `${totalCalls.toFixed(0)} top-level kernel calls per ${o.unit}`, '');
  lines.push(`| ${o.kernelHeading} | calls | ms per ${o.unit} | % of ${o.unit} |`, '| --- | ---: | ---: | ---: |');
  const sorted = [...profile.kernels].sort((a, b) => b[1] - a[1]);
  for (const [kernel, ms] of sorted.slice(0, o.top)) {
    lines.push(`| ${kernel} | ${(profile.calls.get(kernel)! / o.runs).toFixed(0)} | ${(ms / o.runs).toFixed(o.digits)} | ${pct(ms / o.runs)} |`);
  }
  const rest = sorted.slice(o.top).reduce((a, [, ms]) => a + ms, 0) / o.runs;
  if (rest > 0) lines.push(`| (${sorted.length - o.top} others) | | ${rest.toFixed(o.digits)} | ${pct(rest)} |`);
  return lines;
}
