// The browser test (`npm run test:browser`): train ATSS a few steps with the hpf command, export
// it, build examples/browser with Vite, serve it on localhost and drive Debian's chromium with
// playwright-core: the page, given the exported model and a training image through its file
// inputs, must report the same detections as `hpf predict` on the same image (same labels, boxes
// within 1e-3 px) on the wasm and on the webgl backend. Needs `npm run build` first and a
// `chromium` on PATH (.ci/run installs Debian's). Usage: node tools/browser-test/run.mjs [--keep]
import { execFile, execFileSync } from 'node:child_process';
import { createReadStream, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, copyFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, resolve, dirname, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = join(ROOT, 'packages/cli/dist/cli.js');
const { values: args } = parseArgs({ options: { keep: { type: 'boolean', default: false } }, strict: true });
const t0 = Date.now();
const log = (msg) => console.log(`[browser-test ${((Date.now() - t0) / 1000).toFixed(0).padStart(3)} s] ${msg}`);

// The flags the project runs chromium with: headless, no sandbox (CI runs as root), no GPU
// (webgl runs on SwiftShader), and nothing that reaches the network.
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const BACKENDS = ['wasm', 'webgl'];
const BOX_TOLERANCE = 1e-3;
/** The model must have learnt: at least MIN_CONFIDENT detections at or above hpf predict's draw threshold. */
const CONFIDENT = 0.3;
const MIN_CONFIDENT = 2;

function run(cmd, argv, options = {}) {
  return new Promise((ok, fail) => {
    execFile(cmd, argv, { cwd: ROOT, maxBuffer: 64 << 20, ...options }, (err, stdout, stderr) => {
      if (err) fail(new Error(`${cmd} ${argv.join(' ')} exited ${err.code ?? err.signal}\n${stdout}${stderr}`));
      else ok(stdout);
    });
  });
}
const hpf = (...argv) => run(process.execPath, [CLI, ...argv]);

const MIME = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json', '.css': 'text/css', '.png': 'image/png' };
/** Bytes and requests served since the last reset (what one page load downloads, uncompressed). */
const served = { bytes: 0, requests: 0 };
function serve(dir) {
  const server = createServer((req, res) => {
    const path = resolve(dir, `.${decodeURIComponent(new URL(req.url, 'http://x').pathname)}`);
    const file = path.endsWith(sep) || path === resolve(dir) ? join(path, 'index.html') : path;
    if (!file.startsWith(resolve(dir)) || !statSync(file, { throwIfNoEntry: false })?.isFile()) {
      res.writeHead(404).end();
      return;
    }
    served.bytes += statSync(file).size;
    served.requests++;
    res.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok(server)));
}

function sizes(dir) {
  const files = [];
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else files.push({ path: relative(dir, p), bytes: statSync(p).size, gzip: gzipSync(readFileSync(p)).length });
    }
  };
  walk(dir);
  return files.sort((a, b) => b.bytes - a.bytes);
}

/** Node's detections (COCO results) vs the page's ({ box, score, categoryId }): a list of failures. */
function compare(node, page) {
  const failures = [];
  const a = node.map((d) => ({ box: [d.bbox[0], d.bbox[1], d.bbox[0] + d.bbox[2], d.bbox[1] + d.bbox[3]], score: d.score, categoryId: d.category_id }));
  const b = page;
  if (a.length !== b.length) failures.push(`${a.length} detections from hpf predict, ${b.length} from the page`);
  let worst = 0;
  const used = new Set();
  for (const d of a) {
    let best = -1;
    let bestDiff = Infinity;
    b.forEach((e, j) => {
      if (used.has(j) || e.categoryId !== d.categoryId) return;
      const diff = Math.max(...d.box.map((v, k) => Math.abs(v - e.box[k])));
      if (diff < bestDiff) [best, bestDiff] = [j, diff];
    });
    if (best < 0 || bestDiff > BOX_TOLERANCE) {
      failures.push(`hpf predict's category ${d.categoryId} at [${d.box.map((v) => v.toFixed(3))}] (score ${d.score.toFixed(4)}) has no page box of that category within ${BOX_TOLERANCE} px (closest ${bestDiff.toFixed(5)} px)`);
      continue;
    }
    used.add(best);
    worst = Math.max(worst, bestDiff);
  }
  return { failures, compared: a.length, worst };
}

const work = mkdtempSync(join(tmpdir(), 'hpf-browser-test-'));
let failed = false;
let server;
let browser;
try {
  for (const f of [CLI, join(ROOT, 'packages/model/dist/index.js'), join(ROOT, 'packages/digits-det/dist/index.js')]) {
    if (!statSync(f, { throwIfNoEntry: false })) throw new Error(`${relative(ROOT, f)} is missing: run \`npm run build\` first`);
  }
  const chromiumPath = execFileSync('sh', ['-c', 'command -v chromium || true']).toString().trim();
  if (chromiumPath === '') throw new Error('no chromium on PATH: apt-get install -y chromium (Debian), as .ci/run does');

  log('generate 2 digits-det training images (128 px)');
  const { writeDigitsDet, PRESETS } = await import(join(ROOT, 'packages/digits-det/dist/index.js'));
  const data = join(work, 'data');
  // Whole, well-separated digits: ATSS overfits two such images within the steps below (at a
  // constant lr: --lr-gamma 1 keeps the default steps from lowering it).
  const preset = { ...PRESETS.quick, minDigits: 2, maxDigits: 3, minInkHeight: 14, maxInkHeight: 48, minInkSide: 0, maxPartials: 0, maxStrokesOver: 0 };
  writeDigitsDet(data, { preset, seed: 3, train: 2, val: 1 });
  const imageDir = join(work, 'image');
  mkdirSync(imageDir);
  const imageName = readdirSync(join(data, 'train')).filter((f) => f.endsWith('.png')).sort()[0];
  copyFileSync(join(data, 'train', imageName), join(imageDir, imageName));

  const runDir = join(work, 'run');
  log('hpf train: ATSS, 40 steps on the wasm backend');
  await hpf('train', '--detector', 'atss', '--data', data, '--out', runDir, '--steps', '40', '--batch-size', '2', '--lr-gamma', '1', '--flip', '0',
    '--backbone', 'resnet10-mini', '--neck-channels', '32', '--feat-channels', '32', '--stacked-convs', '1', '--set', 'octaveBaseScale=4', '--no-eval', '--backend', 'wasm');
  const modelDir = join(work, 'model');
  log(`hpf export: ${(await hpf('export', '--run', runDir, '--out', modelDir, '--backend', 'wasm')).trim()}`);
  const predDir = join(work, 'predict');
  await hpf('predict', '--run', runDir, '--images', imageDir, '--out', predDir, '--batch-size', '1', '--backend', 'wasm');
  const nodeDetections = JSON.parse(readFileSync(join(predDir, 'detections.json'), 'utf8'));
  const confident = nodeDetections.filter((d) => d.score >= CONFIDENT).length;
  log(`hpf predict: ${nodeDetections.length} detections, ${confident} with score >= ${CONFIDENT}`);
  if (confident < MIN_CONFIDENT) throw new Error(`hpf predict found ${confident} detections with score >= ${CONFIDENT} (need ${MIN_CONFIDENT}): the model did not learn, the comparison would say little`);

  log('vite build examples/browser');
  const site = join(work, 'site');
  const { build } = await import('vite');
  await build({ root: join(ROOT, 'examples/browser'), logLevel: 'warn', build: { outDir: site, emptyOutDir: true } });
  const files = sizes(site);
  const kib = (n) => `${(n / 1024).toFixed(0)} KiB`;
  const js = files.filter((f) => f.path.endsWith('.js'));
  const wasm = files.filter((f) => f.path.endsWith('.wasm'));
  log(`page build: ${files.length} files, ${kib(files.reduce((s, f) => s + f.bytes, 0))} (${kib(files.reduce((s, f) => s + f.gzip, 0))} gzip); ` +
    `JavaScript ${kib(js.reduce((s, f) => s + f.bytes, 0))} (${kib(js.reduce((s, f) => s + f.gzip, 0))} gzip) in ${js.length} chunks, wasm ${kib(wasm.reduce((s, f) => s + f.bytes, 0))}`);
  for (const f of files.slice(0, 6)) log(`  ${f.path.padEnd(52)} ${kib(f.bytes).padStart(9)} ${kib(f.gzip).padStart(9)} gzip`);

  server = await serve(site);
  const url = `http://127.0.0.1:${server.address().port}/`;
  const { chromium } = await import('playwright-core');
  log(`chromium ${chromiumPath} ${CHROMIUM_FLAGS.join(' ')}`);
  browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: CHROMIUM_FLAGS });
  const modelFiles = readdirSync(modelDir).map((f) => join(modelDir, f));
  const problems = [];
  for (const backend of BACKENDS) {
    const page = await browser.newPage();
    const consoleErrors = [];
    page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    served.bytes = 0;
    served.requests = 0;
    await page.goto(url);
    await page.selectOption('#backend', backend);
    await page.setInputFiles('#model-files', modelFiles);
    await page.setInputFiles('#image', join(imageDir, imageName));
    await page.waitForSelector('#status[data-state="done"], #status[data-state="error"]', { timeout: 90_000 });
    const status = await page.$eval('#status', (e) => ({ state: e.dataset.state, backend: e.dataset.backend, text: e.textContent }));
    if (status.state !== 'done') {
      problems.push(`${backend}: the page failed: ${status.text}; console: ${consoleErrors.join(' | ')}`);
      await page.close();
      continue;
    }
    if (status.backend !== backend) problems.push(`${backend}: the page ran on '${status.backend}'`);
    const pageDetections = JSON.parse(await page.$eval('#detections', (e) => e.textContent));
    const result = compare(nodeDetections, pageDetections);
    log(`${backend}: ${status.text}; the page downloaded ${kib(served.bytes)} in ${served.requests} requests (model files are local); compared ${result.compared} detections, largest box difference ${result.worst.toExponential(2)} px`);
    problems.push(...result.failures.map((f) => `${backend}: ${f}`));
    await page.close();
  }
  if (problems.length > 0) throw new Error(`the page's detections differ from hpf predict's:\n  ${problems.join('\n  ')}`);
  log('passed');
} catch (err) {
  failed = true;
  console.error(`\nbrowser test FAILED: ${err?.stack ?? err}`);
  process.exitCode = 1;
} finally {
  await browser?.close();
  server?.close();
  if (args.keep || failed) console.log(`work folder kept: ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
