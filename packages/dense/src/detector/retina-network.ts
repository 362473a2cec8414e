import * as tf from '@tensorflow/tfjs-core';
import type { SizeHW } from '../boxes/check-options.js';
import type { DeltaXYWHCoder } from '../boxes/delta-xywh-coder.js';
import { createAnchorGenerator, type AnchorGenerator } from '../priors/anchor-generator.js';
import type { PriorTensors } from '../priors/prior-cache.js';
import type { DenseDetectorModel, DenseHeadOutput } from './dense-head.js';
import { deltaBoxDecoder } from '../postprocess/deferred-decode.js';
import type { DeferredLevel } from './detector.js';
import { buildDenseModel } from './model.js';
import type { ResolvedDenseOptions } from './options.js';

export interface RetinaAnchorOptions {
  strides: readonly number[];
  ratios: readonly number[];
  octaveBaseScale: number;
  scalesPerOctave: number;
}

/**
 * RetinaNet's network and anchors, shared by every detector built on them (RetinaNet, FreeAnchor):
 * FPN with extra convs on the input (C5), no ReLU before them, a head without norm, Scale or
 * centerness, `ratios x scalesPerOctave` anchors per location, mmdetection's parameter names.
 */
export function buildRetinaNetwork(base: ResolvedDenseOptions, anchors: RetinaAnchorOptions): { model: DenseDetectorModel; anchors: AnchorGenerator } {
  const model = buildDenseModel(base, {
    extraConvs: 'on_input',
    reluBeforeExtraConvs: false,
    numAnchors: anchors.ratios.length * anchors.scalesPerOctave,
    headNorm: null,
    centerness: false,
    scales: false,
    names: { cls: 'retina_cls', reg: 'retina_reg' },
  });
  const generator = createAnchorGenerator({
    strides: [...anchors.strides],
    ratios: [...anchors.ratios],
    octaveBaseScale: anchors.octaveBaseScale,
    scalesPerOctave: anchors.scalesPerOctave,
  });
  return { model, anchors: generator };
}

/**
 * RetinaNet-style decoding, shared by the detectors on this network (RetinaNet, FreeAnchor):
 * scores sigmoid(cls) per (anchor, class); boxes decoded from each anchor and clipped to the input,
 * on the CPU after the top-k (`coder.decode`'s arithmetic, see deltaBoxDecoder).
 */
export function decodeRetinaLevels(out: DenseHeadOutput, priors: PriorTensors, coder: DeltaXYWHCoder, numClasses: number, imageSize: SizeHW): DeferredLevel[] {
  return out.cls.map((cls, l) => {
    const [n, h, w, c] = cls.shape;
    const m = (h * w * c) / numClasses;
    const scores = tf.sigmoid(tf.reshape(cls, [n, m, numClasses])) as tf.Tensor3D;
    const regression = tf.reshape(out.reg[l]!, [n, m, 4]) as tf.Tensor3D;
    return { scores, regression, decodeBox: deltaBoxDecoder(coder, priors.arrays[l]!, m, imageSize) };
  });
}
