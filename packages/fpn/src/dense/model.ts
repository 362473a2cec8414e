import { createBackbone, type BackboneOptions } from '../backbone/presets.js';
import { Fpn, type ExtraConvSource } from '../neck/fpn.js';
import type { NormConfig } from '../nn/conv_module.js';
import { createRng } from '../nn/rng.js';
import { DenseDetectorModel, DenseHead, type DenseHeadOptions } from './dense-head.js';
import type { ResolvedDenseOptions } from './options.js';

/** What distinguishes one adapter's network from another's (the rest comes from the common options). */
export interface DenseModelSpec {
  extraConvs: ExtraConvSource;
  reluBeforeExtraConvs: boolean;
  numAnchors: number;
  headNorm: NormConfig | null;
  centerness: boolean;
  scales: boolean;
  names: DenseHeadOptions['names'];
}

/**
 * Backbone (C3-C5) -> FPN (P3-P7) -> dense head, all drawn from one stream seeded by
 * `options.seed` (backbone first, then neck, then head), so a seed fixes every initial weight.
 */
export function buildDenseModel(options: ResolvedDenseOptions, spec: DenseModelSpec): DenseDetectorModel {
  const rng = createRng(options.seed);
  const backboneOptions: BackboneOptions = typeof options.backbone === 'string' ? { preset: options.backbone } : { ...options.backbone };
  delete backboneOptions.seed;
  const backbone = createBackbone({ ...backboneOptions, rng });
  const neck = new Fpn({
    inChannels: [...backbone.outChannels],
    outChannels: options.neckChannels,
    extraConvs: spec.extraConvs,
    reluBeforeExtraConvs: spec.reluBeforeExtraConvs,
    rng,
  });
  const head = new DenseHead({
    inChannels: options.neckChannels,
    featChannels: options.featChannels,
    stackedConvs: options.stackedConvs,
    numClasses: options.numClasses,
    numAnchors: spec.numAnchors,
    numLevels: neck.levels.length,
    norm: spec.headNorm,
    centerness: spec.centerness,
    scales: spec.scales,
    names: spec.names,
    rng,
  });
  return new DenseDetectorModel(backbone, neck, head);
}
