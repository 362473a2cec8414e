export { Module, Sequential, ModuleList, type AnyModule } from './module.js';
export {
  Conv2d,
  BatchNorm2d,
  GroupNorm,
  Scale,
  ReLU,
  relu,
  maxPool2d,
  type Conv2dOptions,
  type BatchNorm2dOptions,
  type GroupNormOptions,
} from './layers.js';
export { foldBatchNorms } from './fold.js';
export { ConvModule, createNorm, type ConvModuleOptions, type NormConfig } from './conv_module.js';
export { initWeight, initBias, biasInitWithProb, computeFans, type WeightInit, type BiasInit } from './init.js';
export { createRng, toRng, asRng, fillNormal, fillUniform, type Rng, type RngLike, type UniformSource, type SeedOrRng } from './rng.js';
export { checkOptionKeys, checkPositiveInt, checkNonNegativeInt } from './options.js';
