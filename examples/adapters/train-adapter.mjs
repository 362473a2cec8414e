// Shared body of the per-adapter examples: train one detector on digits-det quick with HPF for a
// few hundred steps, evaluate on the validation split and print AP. Runs the BUILT packages
// (`npm run build` first). Usage: node examples/adapters/<detector>.mjs [--steps N] [--no-hpf]
import { parseArgs } from 'node:util';
import { initBackend, formatBackendChoice } from '@hpf/engine/node';
import { runTraining, formatProgressLine } from '@hpf/cli';

export async function trainAdapter(detector) {
  const { values: args } = parseArgs({
    options: { steps: { type: 'string', default: '300' }, 'no-hpf': { type: 'boolean', default: false }, out: { type: 'string' } },
    strict: true,
  });
  console.log(formatBackendChoice(await initBackend()));
  const hpf = !args['no-hpf'];
  const result = await runTraining(
    {
      detector,
      hpf,
      data: 'digits-det:quick', // generated into runs/data on first use
      out: args.out ?? `runs/examples/${detector}-${hpf ? 'hpf' : 'baseline'}-${Date.now()}`,
      steps: Number(args.steps),
      batchSize: 8,
      lr: 0.01,
      warmupRatio: 0.1,
      lrGamma: 0.1,
      momentum: 0.9,
      weightDecay: 1e-4,
      seed: 0,
      backbone: 'resnet18-mini',
      smallInput: 'auto', // the registry's 128 px prior sizes, the same for both hpf modes
      checkpointEvery: 0,
      resume: false,
      evaluate: true,
      flipProbability: 0.5,
    },
    { log: console.log, onIteration: (e) => (e.iteration % 50 === 0 || e.iteration + 1 === e.steps) && console.log(formatProgressLine(e)) },
  );
  const s = result.stats;
  console.log(`${detector}${hpf ? ' + HPF' : ''}: AP ${(100 * s.AP).toFixed(1)}  AP50 ${(100 * s.AP50).toFixed(1)}  AP75 ${(100 * s.AP75).toFixed(1)}  (${result.steps} steps, ${result.trainSeconds.toFixed(0)} s)`);
}
