// The page: load an exported model (files or URL), pick a tfjs backend, detect on a dropped or
// chosen image and draw the boxes. Every tfjs backend is a dynamic import, so the bundle ships
// each as its own chunk and the page downloads only the one in use.
import * as tf from '@tensorflow/tfjs-core';
import { loadDetector } from '@hpf/model';
// The wasm binaries as build assets (tfjs fetches them at run time from these URLs).
import wasmPlain from '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.wasm?url';

const $ = (id) => document.getElementById(id);
const statusLine = $('status');
const PALETTE = ['#e6194b', '#3cb44b', '#ffe119', '#0082c8', '#f58231', '#911eb4', '#46f0f0', '#f032e6', '#d2f53c', '#fabebe'];

let modelSource = null; // what the current model was loaded from (files or a URL)
let model = null;
let modelBackend = '';
let image = null; // ImageData of the current image

function setStatus(state, text) {
  statusLine.dataset.state = state;
  statusLine.textContent = text;
}

const BACKENDS = {
  webgl: () => import('@tensorflow/tfjs-backend-webgl'),
  wasm: async () => {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths({ 'tfjs-backend-wasm.wasm': wasmPlain, 'tfjs-backend-wasm-simd.wasm': wasmSimd, 'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded });
  },
  webgpu: () => import('@tensorflow/tfjs-backend-webgpu'),
  cpu: () => import('@tensorflow/tfjs-backend-cpu'),
};

async function useBackend(name) {
  if (name === 'webgpu' && !('gpu' in navigator)) throw new Error('this browser has no WebGPU (navigator.gpu)');
  await BACKENDS[name]();
  if (!(await tf.setBackend(name))) throw new Error(`the ${name} backend failed to start`);
  await tf.ready();
}

async function ensureModel() {
  const backend = $('backend').value;
  if (model !== null && modelBackend === backend) return model;
  if (modelSource === null) return null;
  setStatus('busy', `starting ${backend}, loading the model...`);
  model?.dispose();
  model = null;
  await useBackend(backend);
  model = await loadDetector(modelSource);
  modelBackend = backend;
  const d = model.descriptor;
  $('model-info').textContent = `${d.detector}, ${d.classes.length} classes (${model.classNames.join(', ')}), input ${d.inputSize} px`;
  return model;
}

function draw(detections, threshold) {
  const canvas = $('canvas');
  canvas.width = image.width;
  canvas.height = image.height;
  const ctx = canvas.getContext('2d');
  ctx.putImageData(image, 0, 0);
  const line = Math.max(1, Math.round(Math.max(image.width, image.height) / 200));
  ctx.font = `${Math.max(10, 6 * line)}px system-ui, sans-serif`;
  ctx.textBaseline = 'bottom';
  for (const d of detections.filter((x) => x.score >= threshold).reverse()) {
    const [x1, y1, x2, y2] = d.box;
    const color = PALETTE[d.label % PALETTE.length];
    ctx.lineWidth = line;
    ctx.strokeStyle = color;
    ctx.strokeRect(x1, y1, x2 - x1, y2 - y1);
    const text = `${d.className} ${d.score.toFixed(2)}`;
    const w = ctx.measureText(text).width + 4;
    const h = Math.max(10, 6 * line) + 2;
    const top = y1 - h < 0 ? y1 + h : y1;
    ctx.fillStyle = color;
    ctx.fillRect(x1, top - h, w, h);
    ctx.fillStyle = '#000';
    ctx.fillText(text, x1 + 2, top);
  }
}

async function run() {
  try {
    if (image === null) return setStatus('idle', 'Pick an image.');
    const current = await ensureModel();
    if (current === null) return setStatus('idle', 'Pick a model (model.json and its .bin files) or give its URL.');
    setStatus('busy', 'detecting...');
    const started = performance.now();
    const detections = await current.detect(image);
    const ms = performance.now() - started;
    const threshold = Number($('threshold').value);
    draw(detections, threshold);
    $('detections').textContent = JSON.stringify(detections);
    statusLine.dataset.backend = tf.getBackend();
    setStatus('done', `${detections.filter((d) => d.score >= threshold).length} boxes drawn (${detections.length} detections) on ${tf.getBackend()} in ${ms.toFixed(1)} ms`);
  } catch (error) {
    console.error(error);
    setStatus('error', String(error instanceof Error ? error.message : error));
  }
}

async function setImage(file) {
  // No colour management or premultiplication: the pixels are the file's, as hpf predict decodes them.
  const bitmap = await createImageBitmap(file, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(bitmap, 0, 0);
  image = ctx.getImageData(0, 0, bitmap.width, bitmap.height);
  await run();
}

function setModel(source) {
  model?.dispose();
  model = null;
  modelSource = source;
  return run();
}

$('model-files').addEventListener('change', (e) => setModel([...e.target.files]));
$('load-url').addEventListener('click', () => setModel($('model-url').value));
$('backend').addEventListener('change', () => run());
$('threshold').addEventListener('change', () => run());
$('image').addEventListener('change', (e) => e.target.files[0] && setImage(e.target.files[0]));
const drop = $('drop');
drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  const file = [...e.dataTransfer.files].find((f) => f.type.startsWith('image/'));
  if (file) setImage(file);
});
const fromQuery = new URLSearchParams(location.search).get('model');
if (fromQuery) {
  $('model-url').value = fromQuery;
  setModel(fromQuery);
}
if (!('gpu' in navigator)) $('backend').querySelector('option[value=webgpu]').disabled = true;
