import * as tf from '@tensorflow/tfjs-core';
import { ProgressiveFocus } from '@hpf/loss';
import {
  buildDenseModel,
  createPointGenerator,
  DenseDetector,
  resolveDetectorOptions,
  type DecodedLevel,
  type DenseDefaults,
  type DenseDetectorOptions,
  type DenseHeadOutput,
  type DetectorLoss,
  type DetectorTarget,
  type PriorTensors,
  type ResolvedDenseOptions,
  type SizeHW,
} from '@hpf/dense';
import { foveaLoss } from './loss.js';

export interface FoveaBoxOptions extends DenseDetectorOptions {
  /** Base edge per level (distances are divided by it before the log). Default [16, 32, 64, 128, 256]. */
  baseEdges?: number[];
  /** [lower, upper] of sqrt(gt area) per level. Default [[1, 64], [32, 128], [64, 256], [128, 512], [256, 2048]]. */
  scaleRanges?: Array<[number, number]>;
  /** Fovea (positive) area: the gt box shrunk to sigma of its size about its centre. Default 0.4. */
  sigma?: number;
}

export interface FoveaBoxConfig extends ResolvedDenseOptions {
  baseEdges: number[];
  scaleRanges: Array<[number, number]>;
  sigma: number;
  strides: number[];
  bboxLossWeight: number;
  smoothL1Beta: number;
}

/** Published FoveaBox (mmdetection fovea_r50_fpn_4x4_1x) values, except the documented CPU-size network. */
export const FOVEABOX_DEFAULTS: DenseDefaults &
  Pick<FoveaBoxConfig, 'baseEdges' | 'scaleRanges' | 'sigma' | 'strides' | 'bboxLossWeight' | 'smoothL1Beta'> = {
  backbone: 'resnet18-mini',
  neckChannels: 64,
  featChannels: 64,
  stackedConvs: 4,
  test: { scoreThreshold: 0.05, nmsPre: 1000, iouThreshold: 0.5, maxPerImage: 100 },
  focus: { gamma: 1.5, alpha: 0.4 },
  baseEdges: [16, 32, 64, 128, 256],
  scaleRanges: [
    [1, 64],
    [32, 128],
    [64, 256],
    [128, 512],
    [256, 2048],
  ],
  sigma: 0.4,
  strides: [8, 16, 32, 64, 128],
  bboxLossWeight: 1,
  smoothL1Beta: 0.11,
};

/**
 * FoveaBox (Kong et al., "FoveaBox: Beyound Anchor-Based Object Detection", TIP 2020): anchor-free,
 * each level takes the objects of its (overlapping) scale range, the cells in a gt's central fovea
 * area are positives, boxes are regressed as log distances normalised by the level's base edge;
 * focal loss (gamma 1.5, alpha 0.4) or HPF for classification, smooth-L1 for boxes.
 */
export class FoveaBoxDetector extends DenseDetector<FoveaBoxConfig> {
  constructor(options: FoveaBoxOptions) {
    const where = 'createFoveaBox';
    const base = resolveDetectorOptions(where, options, FOVEABOX_DEFAULTS, ['baseEdges', 'scaleRanges', 'sigma']);
    const numLevels = FOVEABOX_DEFAULTS.strides.length;
    const baseEdges = options.baseEdges ?? FOVEABOX_DEFAULTS.baseEdges;
    if (!Array.isArray(baseEdges) || baseEdges.length !== numLevels || !baseEdges.every((v) => typeof v === 'number' && v > 0)) {
      throw new Error(`${where}: option 'baseEdges' must be ${numLevels} numbers > 0, got ${JSON.stringify(baseEdges)}`);
    }
    const scaleRanges = options.scaleRanges ?? FOVEABOX_DEFAULTS.scaleRanges;
    if (
      !Array.isArray(scaleRanges) ||
      scaleRanges.length !== numLevels ||
      !scaleRanges.every((r) => Array.isArray(r) && r.length === 2 && r.every((v) => typeof v === 'number' && v >= 0) && r[0] <= r[1])
    ) {
      throw new Error(`${where}: option 'scaleRanges' must be ${numLevels} pairs [lower, upper] with 0 <= lower <= upper, got ${JSON.stringify(scaleRanges)}`);
    }
    const sigma = options.sigma ?? FOVEABOX_DEFAULTS.sigma;
    if (!(typeof sigma === 'number' && sigma > 0 && sigma <= 1)) throw new Error(`${where}: option 'sigma' must be a number in (0, 1], got ${String(sigma)}`);
    const config: FoveaBoxConfig = {
      ...base,
      baseEdges: [...baseEdges],
      scaleRanges: scaleRanges.map(([lo, hi]) => [lo, hi]),
      sigma,
      strides: [...FOVEABOX_DEFAULTS.strides],
      bboxLossWeight: FOVEABOX_DEFAULTS.bboxLossWeight,
      smoothL1Beta: FOVEABOX_DEFAULTS.smoothL1Beta,
    };
    const model = buildDenseModel(base, {
      extraConvs: 'on_input',
      reluBeforeExtraConvs: false,
      numAnchors: 1,
      headNorm: null,
      centerness: false,
      scales: false,
      names: { cls: 'conv_cls', reg: 'conv_reg' },
    });
    // Cell centres: (col + 0.5) stride, as FoveaHead's points.
    const points = createPointGenerator({ strides: config.strides, offset: 0.5 });
    super('foveabox', Object.freeze(config), model, points, new ProgressiveFocus(base.hpf));
  }

  protected loss(out: DenseHeadOutput, priors: PriorTensors, targets: readonly DetectorTarget[]): DetectorLoss {
    const c = this.config;
    return foveaLoss(
      { cls: out.cls, reg: out.reg, points: priors.arrays, targets },
      {
        numClasses: c.numClasses,
        strides: c.strides,
        baseEdges: c.baseEdges,
        scaleRanges: c.scaleRanges,
        sigma: c.sigma,
        focus: this.focus,
        bboxLossWeight: c.bboxLossWeight,
        smoothL1Beta: c.smoothL1Beta,
      },
    );
  }

  /** Scores sigmoid(cls); boxes (px - base e^t0, py - base e^t1, px + base e^t2, py + base e^t3), clipped. */
  protected decode(out: DenseHeadOutput, priors: PriorTensors, imageSize: SizeHW): DecodedLevel[] {
    const { numClasses, baseEdges } = this.config;
    const [height, width] = imageSize;
    return out.cls.map((cls, l) => {
      const [n, h, w] = cls.shape;
      const m = h * w;
      const scores = tf.sigmoid(tf.reshape(cls, [n, m, numClasses]));
      const distances = tf.mul(tf.exp(tf.reshape(out.reg[l]!, [n, m, 4])), baseEdges[l]!);
      const [px, py] = tf.unstack(priors.levels[l]!, 1) as [tf.Tensor1D, tf.Tensor1D];
      const [dl, dt, dr, db] = tf.unstack(distances, 2);
      const boxes = tf.stack(
        [
          tf.clipByValue(tf.sub(px, dl!), 0, width),
          tf.clipByValue(tf.sub(py, dt!), 0, height),
          tf.clipByValue(tf.add(px, dr!), 0, width),
          tf.clipByValue(tf.add(py, db!), 0, height),
        ],
        2,
      );
      return { scores: scores as tf.Tensor3D, boxes: boxes as tf.Tensor3D };
    });
  }
}

/** Builds a FoveaBox detector (see README for the options, defaults and deviations). */
export function createFoveaBox(options: FoveaBoxOptions): FoveaBoxDetector {
  return new FoveaBoxDetector(options);
}
