// Copies a running or finished sweep's finished runs into the committed results folder, then
// writes the report there. The results folder is itself a bench folder (bench.json, timing.json,
// runs/<id>/result.json), so `hpf bench stable-gain --out examples/stable-gain/results` with the
// same settings skips every committed run and trains only the rest. Checkpoints stay behind: they
// are tens of MB per run and only resume a run that is not finished. Paths inside the copies (the
// checkpoint a result names, the log's "writing to" lines) are made relative to the bench folder,
// so nothing committed names the machine the sweep ran on.
//   node examples/stable-gain/collect.mjs --from /path/to/bench [--to examples/stable-gain/results]
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
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
/** Copies a text file with the bench folder's absolute path cut out of it. */
function copyRelative(src, dest) {
  let text = readFileSync(src, 'utf8');
  // The JSON-escaped form differs from the plain one where the path has backslashes (Windows).
  for (const prefix of [JSON.stringify(from + sep).slice(1, -1), from + sep]) text = text.split(prefix).join('');
  writeFileSync(dest, text);
}
let copied = 0;
for (const id of readdirSync(join(from, 'runs'))) {
  const result = join(from, 'runs', id, 'result.json');
  if (!existsSync(result)) continue;
  mkdirSync(join(to, 'runs', id), { recursive: true });
  copyRelative(result, join(to, 'runs', id, 'result.json'));
  if (existsSync(join(from, 'runs', id, 'train.log'))) copyRelative(join(from, 'runs', id, 'train.log'), join(to, 'runs', id, 'train.log'));
  copied++;
}
const { files, report } = await writeReport(to);
console.log(`${copied} finished runs in ${to}; ${report.missing.length} still to run; report: ${files[0]}`);
