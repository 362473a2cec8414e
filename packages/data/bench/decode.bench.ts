/**
 * Decode time per image: @hpf/data's decodeImage (pure JS: jpeg-js, pngjs) against sharp (libvips,
 * native, from the npm registry as a prebuilt optional-dependency package), on synthetic
 * photo-like images (smooth gradients plus noise, so neither codec gets a trivially compressible
 * picture) at 640x480 and 1280x960, JPEG quality 90 and PNG.
 *   node --import tsx packages/data/bench/decode.bench.ts [--runs 7]
 * Prints the median milliseconds per image of each codec and the ratio pure-JS / sharp, both in
 * the same process. sharp is timed to raw RGB with EXIF rotation applied (what training needs).
 */
import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import { decodeImage, encodeImage, type RgbImage } from '../src/index.js';

const at = process.argv.indexOf('--runs');
const runs = at < 0 ? 7 : Number(process.argv[at + 1]);
if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');

function photoLike(width: number, height: number, seed: number): RgbImage {
  let s = seed >>> 0;
  const noise = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s >>> 24) - 128;
  };
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = 3 * (y * width + x);
      const base = [128 + 100 * Math.sin(x / 37), 128 + 100 * Math.cos(y / 23), 128 + 80 * Math.sin((x + y) / 51)];
      for (let c = 0; c < 3; c++) data[p + c] = Math.max(0, Math.min(255, Math.round(base[c]! + 0.15 * noise())));
    }
  }
  return { width, height, data };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function time(fn: () => unknown | Promise<unknown>, perRun: number): Promise<number> {
  await fn(); // warm-up (JIT, libvips start-up)
  const samples: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    for (let i = 0; i < perRun; i++) await fn();
    samples.push((performance.now() - t0) / perRun);
  }
  return median(samples);
}

sharp.concurrency(1); // one thread, as the data loader decodes one image at a time
console.log(`median of ${runs} runs, ms per image (sharp ${sharp.versions.sharp}, libvips ${sharp.versions.vips}, one thread)`);
console.log('image            format   pure-JS    sharp   pure-JS/sharp');
for (const [w, h] of [[640, 480], [1280, 960]] as const) {
  const image = photoLike(w, h, 7);
  for (const format of ['jpg', 'png'] as const) {
    const bytes = encodeImage(image, `x.${format}`, { jpegQuality: 90 });
    const js = await time(() => decodeImage(bytes, `x.${format}`), 3);
    const native = await time(() => sharp(bytes).rotate().removeAlpha().raw().toBuffer(), 3);
    console.log(`${`${w}x${h}`.padEnd(16)} ${format.padEnd(6)} ${js.toFixed(1).padStart(8)} ${native.toFixed(1).padStart(8)} ${(js / native).toFixed(2).padStart(10)}`);
  }
}
