// Copies a running or finished sweep's finished runs into the committed results folder, then
// writes the report there. The results folder is itself a bench folder (bench.json, timing.json,
// runs/<id>/result.json), so `hpf bench stable-gain --out examples/stable-gain/results` with the
// same settings skips every committed run and trains only the rest. Checkpoints stay behind: they
// are tens of MB per run and only resume a run that is not finished.
//   node examples/stable-gain/collect.mjs --from /path/to/bench [--to examples/stable-gain/results]
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { readBenchConfig, writeReport } from '@hpf/cli';

const { values } = parseArgs({
  options: { from: { type: 'string' }, to: { type: 'string', default: 'examples/stable-gain/results' } },
  strict: true,
});
if (values.from === undefined) throw new Error('--from <bench folder> is required');
const from = resolve(values.from);
const to = resolve(values.to);
readBenchConfig(from); // names the folder if it is not a bench
mkdirSync(join(to, 'runs'), { recursive: true });
for (const file of ['bench.json', 'timing.json']) if (existsSync(join(from, file))) copyFileSync(join(from, file), join(to, file));
let copied = 0;
for (const id of readdirSync(join(from, 'runs'))) {
  const result = join(from, 'runs', id, 'result.json');
  if (!existsSync(result)) continue;
  mkdirSync(join(to, 'runs', id), { recursive: true });
  copyFileSync(result, join(to, 'runs', id, 'result.json'));
  if (existsSync(join(from, 'runs', id, 'train.log'))) copyFileSync(join(from, 'runs', id, 'train.log'), join(to, 'runs', id, 'train.log'));
  copied++;
}
const { files, report } = await writeReport(to);
console.log(`${copied} finished runs in ${to}; ${report.missing.length} still to run; report: ${files[0]}`);
