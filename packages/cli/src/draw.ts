/**
 * Boxes with class names and scores a person can read, drawn as SVG over the image and rasterised
 * by resvg (already used for the report charts): anti-aliased text from a real font, which a
 * pixel-plotting drawer cannot give. Labels use DejaVu Sans Mono, whose every glyph advances
 * 0.602 em, so a label's background is sized exactly without a text-measuring API.
 */
import { Resvg } from '@resvg/resvg-js';
import { encodeImage, type RgbImage } from '@hpf/data';

export interface DrawnBox {
  /** [x1, y1, x2, y2] in the image's pixels. */
  box: readonly number[];
  /** Contiguous label, indexing `classNames` and the palette. */
  label: number;
  /** Shown after the class name when given (detections); ground truth has none. */
  score?: number;
}

/** Ten well-separated colours; a label past ten reuses them in order. */
export const PALETTE: ReadonlyArray<readonly [number, number, number]> = [
  [230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48],
  [145, 30, 180], [70, 240, 240], [240, 50, 230], [210, 245, 60], [250, 190, 212],
];

const MONO_ADVANCE = 0.602; // DejaVu Sans Mono: 1233 / 2048 units per em
const FONT = 'DejaVu Sans Mono';

export function colourOf(label: number): readonly [number, number, number] {
  return PALETTE[label % PALETTE.length]!;
}

/** Black text on light colours, white on dark ones (ITU-R BT.601 luma). */
export function textColourOn(rgb: readonly [number, number, number]): '#000' | '#fff' {
  return 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] > 150 ? '#000' : '#fff';
}

const hex = (rgb: readonly [number, number, number]): string => `#${rgb.map((v) => v.toString(16).padStart(2, '0')).join('')}`;

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}

/**
 * Display geometry for an image of `width` x `height`: images under 320 px on the long side are
 * enlarged (nearest neighbour) so 10 px text fits beside their boxes; line width and font size
 * grow with the displayed size.
 */
export function displayGeometry(width: number, height: number): { scale: number; lineWidth: number; fontSize: number } {
  const long = Math.max(width, height);
  const scale = long < 320 ? Math.ceil(320 / long) : 1;
  const shown = long * scale;
  return { scale, lineWidth: Math.max(2, Math.round(shown / 320)), fontSize: Math.max(11, Math.round(shown / 45)) };
}

export function labelText(classNames: readonly string[], d: DrawnBox): string {
  const name = classNames[d.label] ?? `class ${d.label}`;
  return d.score === undefined ? name : `${name} ${d.score.toFixed(2)}`;
}

/** Width of `text` in pixels at `fontSize` in the monospace label font. */
export function textWidth(text: string, fontSize: number): number {
  return [...text].length * MONO_ADVANCE * fontSize;
}

/**
 * SVG elements for one image placed at (x0, y0) and enlarged by `scale`: the image, each box's
 * outline, and a filled label above the box (inside it when the box touches the top edge).
 */
export function imageLayer(image: RgbImage, boxes: readonly DrawnBox[], classNames: readonly string[], x0: number, y0: number, scale: number, lineWidth: number, fontSize: number): string {
  const w = image.width * scale;
  const h = image.height * scale;
  const png = Buffer.from(encodeImage(image, 'layer.png')).toString('base64');
  const parts = [`<image x="${x0}" y="${y0}" width="${w}" height="${h}" preserveAspectRatio="none" style="image-rendering:pixelated" href="data:image/png;base64,${png}"/>`];
  const pad = Math.max(1, Math.round(fontSize / 6));
  const labelHeight = fontSize + 2 * pad;
  for (const d of boxes) {
    const colour = colourOf(d.label);
    const bx1 = x0 + Math.max(0, Math.min(w, d.box[0]! * scale));
    const by1 = y0 + Math.max(0, Math.min(h, d.box[1]! * scale));
    const bx2 = x0 + Math.max(0, Math.min(w, d.box[2]! * scale));
    const by2 = y0 + Math.max(0, Math.min(h, d.box[3]! * scale));
    parts.push(`<rect x="${bx1}" y="${by1}" width="${bx2 - bx1}" height="${by2 - by1}" fill="none" stroke="${hex(colour)}" stroke-width="${lineWidth}"/>`);
    const text = labelText(classNames, d);
    const labelWidth = textWidth(text, fontSize) + 2 * pad;
    const lx = Math.min(bx1 - lineWidth / 2, x0 + w - labelWidth);
    const ly = by1 - labelHeight - lineWidth / 2 >= y0 ? by1 - labelHeight - lineWidth / 2 : by1 + lineWidth / 2;
    parts.push(
      `<rect x="${Math.max(x0, lx)}" y="${ly}" width="${labelWidth}" height="${labelHeight}" fill="${hex(colour)}"/>`,
      `<text x="${Math.max(x0, lx) + pad}" y="${ly + pad + 0.8 * fontSize}" font-family="${FONT}" font-size="${fontSize}" fill="${textColourOn(colour)}">${escapeXml(text)}</text>`,
    );
  }
  return parts.join('');
}

/** A legend box (colour swatch + class name per label) with its top-right corner at (right, top). */
export function legendLayer(labels: readonly number[], classNames: readonly string[], right: number, top: number, fontSize: number): string {
  if (labels.length === 0) return '';
  const pad = Math.round(fontSize / 2);
  const row = Math.round(fontSize * 1.4);
  const names = labels.map((l) => classNames[l] ?? `class ${l}`);
  const width = Math.max(...names.map((n) => textWidth(n, fontSize))) + fontSize + 3 * pad;
  const height = labels.length * row + pad;
  const x = right - width - pad;
  const y = top + pad;
  const parts = [`<rect x="${x}" y="${y}" width="${width}" height="${height}" fill="#fff" fill-opacity="0.85" stroke="#333" stroke-width="1"/>`];
  labels.forEach((l, i) => {
    const ry = y + pad / 2 + i * row + (row - fontSize) / 2;
    parts.push(
      `<rect x="${x + pad}" y="${ry}" width="${fontSize}" height="${fontSize}" fill="${hex(colourOf(l))}"/>`,
      `<text x="${x + 2 * pad + fontSize}" y="${ry + 0.85 * fontSize}" font-family="${FONT}" font-size="${fontSize}" fill="#000">${escapeXml(names[i]!)}</text>`,
    );
  });
  return parts.join('');
}

export function renderSvgPng(svg: string): Buffer {
  const png = new Resvg(svg, { font: { loadSystemFonts: true, defaultFontFamily: FONT }, background: 'white' }).render().asPng();
  return Buffer.from(png);
}

/** The image with its boxes, labels and a legend of the classes drawn, as PNG bytes. */
export function drawDetectionsPng(image: RgbImage, boxes: readonly DrawnBox[], classNames: readonly string[]): Buffer {
  const { scale, lineWidth, fontSize } = displayGeometry(image.width, image.height);
  const w = image.width * scale;
  const h = image.height * scale;
  const labels = [...new Set(boxes.map((b) => b.label))].sort((a, b) => a - b);
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">` +
    imageLayer(image, boxes, classNames, 0, 0, scale, lineWidth, fontSize) +
    legendLayer(labels, classNames, w, 0, fontSize) +
    '</svg>';
  return renderSvgPng(svg);
}

/**
 * Up to `images.length` images in a grid of square cells of `cell` px (each image fitted into its
 * cell, aspect kept) with their boxes, and one legend for all classes present.
 */
export function drawMosaicPng(tiles: ReadonlyArray<{ image: RgbImage; boxes: readonly DrawnBox[]; caption: string }>, classNames: readonly string[], cell = 320): Buffer {
  if (tiles.length === 0) throw new Error('drawMosaicPng: no images');
  const columns = Math.ceil(Math.sqrt(tiles.length));
  const rows = Math.ceil(tiles.length / columns);
  const fontSize = Math.max(11, Math.round(cell / 28));
  const captionHeight = Math.round(fontSize * 1.6);
  const legendWidth = Math.max(...classNames.map((n) => textWidth(n, fontSize))) + 4 * fontSize;
  const width = columns * cell + legendWidth;
  const height = rows * (cell + captionHeight);
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`];
  const present = new Set<number>();
  tiles.forEach((t, i) => {
    const cx = (i % columns) * cell;
    const cy = Math.floor(i / columns) * (cell + captionHeight);
    const scale = Math.min(cell / t.image.width, cell / t.image.height);
    const lineWidth = Math.max(1, Math.round(cell / 200));
    parts.push(imageLayer(t.image, t.boxes, classNames, cx + (cell - t.image.width * scale) / 2, cy + (cell - t.image.height * scale) / 2, scale, lineWidth, Math.round(fontSize * 0.9)));
    parts.push(`<text x="${cx + 4}" y="${cy + cell + fontSize * 1.2}" font-family="${FONT}" font-size="${fontSize}" fill="#000">${escapeXml(t.caption)}</text>`);
    for (const b of t.boxes) present.add(b.label);
  });
  parts.push(legendLayer([...present].sort((a, b) => a - b), classNames, width, 0, fontSize), '</svg>');
  return renderSvgPng(parts.join(''));
}
