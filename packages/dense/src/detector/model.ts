import {
  createBackbone,
  type BackboneOptions,
  Fpn,
  type ExtraConvSource,
  type NormConfig,
  type AnyModule,
  createRng,
  type Rng,
} from '@hpf/nn';
import { DenseDetectorModel, DenseHead, type DenseHeadOptions } from './dense-head.js';
import type { ResolvedDenseOptions } from './options.js';

/** How the FPN of a dense detector makes its extra levels (P6, P7). */
export interface DenseNeckSpec {
  extraConvs: ExtraConvSource;
  reluBeforeExtraConvs: boolean;
}

/** What distinguishes one adapter's network from another's when it uses the DenseHead here. */
export interface DenseModelSpec extends DenseNeckSpec {
  numAnchors: number;
  headNorm: NormConfig | null;
  centerness: boolean;
  scales: boolean;
  names: DenseHeadOptions['names'];
}

/** The common options a head is built from, and the random stream it must draw its weights from. */
export interface DenseHeadContext {
  inChannels: number;
  featChannels: number;
  stackedConvs: number;
  numClasses: number;
  numLevels: number;
  rng: Rng;
}

/** A network with an adapter's own head: the neck spec and a function that builds the head. */
export interface CustomHeadSpec<Head extends AnyModule> extends DenseNeckSpec {
  head: (context: DenseHeadContext) => Head;
}

/**
 * Backbone (C3-C5) -> FPN (P3-P7) -> dense head, all drawn from one stream seeded by
 * `options.seed` (backbone first, then neck, then head), so a seed fixes every initial weight.
 * With a DenseModelSpec the head is this package's DenseHead; with a CustomHeadSpec it is the adapter's own
 * (GFL, VFNet, TOOD), built from the same context so the seeding order stays the same.
 */
export function buildDenseModel(options: ResolvedDenseOptions, spec: DenseModelSpec): DenseDetectorModel;
export function buildDenseModel<Head extends AnyModule>(options: ResolvedDenseOptions, spec: CustomHeadSpec<Head>): DenseDetectorModel<Head>;
export function buildDenseModel(options: ResolvedDenseOptions, spec: DenseModelSpec | CustomHeadSpec<AnyModule>): DenseDetectorModel<AnyModule> {
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
  const context: DenseHeadContext = {
    inChannels: options.neckChannels,
    featChannels: options.featChannels,
    stackedConvs: options.stackedConvs,
    numClasses: options.numClasses,
    numLevels: neck.levels.length,
    rng,
  };
  const head =
    'head' in spec
      ? spec.head(context)
      : new DenseHead({
          ...context,
          numAnchors: spec.numAnchors,
          norm: spec.headNorm,
          centerness: spec.centerness,
          scales: spec.scales,
          names: spec.names,
        });
  return new DenseDetectorModel(backbone, neck, head);
}
