import * as tf from '@tensorflow/tfjs-core';
import { letterboxImage, type RgbImage } from '@hpf/data/letterbox';
import type { Detector, DetectorImageMeta } from '@hpf/dense';
import type { DetectorDescriptor } from './format.js';

/**
 * Pixels of one image, row-major, 8 bits per channel: RGB (3 channels) or RGBA (4; alpha is
 * ignored). A browser's ImageData fits as it is.
 */
export interface PixelImage {
  width: number;
  height: number;
  data: ArrayLike<number>;
  /** Default: data.length / (width * height). */
  channels?: 3 | 4;
}

export interface NamedDetection {
  /** [x1, y1, x2, y2] in the image's pixels. */
  box: [number, number, number, number];
  score: number;
  /** Class index of the detector. */
  label: number;
  className: string;
  /** The dataset's category id of the class. */
  categoryId: number;
}

function toRgb(image: PixelImage): RgbImage {
  const { width, height, data } = image;
  if (!Number.isInteger(width) || width <= 0 || !Number.isInteger(height) || height <= 0) {
    throw new Error(`detect: image width and height must be positive integers, got ${width} x ${height}`);
  }
  const channels = image.channels ?? data.length / (width * height);
  if ((channels !== 3 && channels !== 4) || data.length !== width * height * channels) {
    throw new Error(`detect: image data has ${data.length} values for ${width} x ${height} pixels: expected RGB (3 per pixel) or RGBA (4)`);
  }
  if (channels === 3) return { width, height, data: Uint8Array.from(data) };
  const rgb = new Uint8Array(width * height * 3);
  for (let p = 0, q = 0; p < data.length; p += 4, q += 3) {
    rgb[q] = data[p]!;
    rgb[q + 1] = data[p + 1]!;
    rgb[q + 2] = data[p + 2]!;
  }
  return { width, height, data: rgb };
}

/** A detector rebuilt from an exported model, with its class names and input recipe. */
export class ExportedDetector {
  constructor(
    readonly detector: Detector,
    readonly descriptor: DetectorDescriptor,
  ) {}

  get classNames(): string[] {
    return this.descriptor.classes.map((c) => c.name);
  }

  /**
   * The network input for `image` ([1, inputSize, inputSize, 3] float32, the caller owns it) and the
   * geometry that maps boxes back: the letterbox and normalisation of the descriptor, computed as
   * `hpf predict` computes them.
   */
  prepare(image: PixelImage): { input: tf.Tensor4D; meta: DetectorImageMeta } {
    const size = this.descriptor.inputSize;
    const { padValue, divide, mean, std } = this.descriptor.normalization;
    const rgb = toRgb(image);
    const { image: canvas, geometry } = letterboxImage(rgb, size, size, padValue);
    const pixels = new Float32Array(canvas.data.length);
    for (let k = 0; k < pixels.length; k++) pixels[k] = (canvas.data[k]! / divide - mean[k % 3]!) / std[k % 3]!;
    return {
      input: tf.tensor4d(pixels, [1, size, size, 3]),
      meta: { originalSize: { width: rgb.width, height: rgb.height }, scale: geometry.scale, offset: geometry.offset, flipped: false },
    };
  }

  /** Detections in the image's pixels, best first (the detector's score threshold and NMS). */
  async detect(image: PixelImage): Promise<NamedDetection[]> {
    const { input, meta } = this.prepare(image);
    let detections;
    try {
      [detections] = await this.detector.predict(input, [meta]);
    } finally {
      input.dispose();
    }
    return detections!.map((d) => {
      const cls = this.descriptor.classes[d.label];
      if (cls === undefined) throw new Error(`detect: the detector predicted label ${d.label}, but the model has ${this.descriptor.classes.length} classes`);
      return { box: [d.box[0], d.box[1], d.box[2], d.box[3]], score: d.score, label: d.label, className: cls.name, categoryId: cls.id };
    });
  }

  dispose(): void {
    this.detector.dispose();
  }
}
