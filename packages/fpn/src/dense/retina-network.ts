import { createAnchorGenerator, type AnchorGenerator } from '../priors/anchor-generator.js';
import type { DenseDetectorModel } from './dense-head.js';
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
