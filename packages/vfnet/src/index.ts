export { createVfnet, VfnetDetector, VFNET_DEFAULTS, type VfnetOptions, type VfnetConfig } from './vfnet.js';
export { VfnetHead, DeformConv2d, starOffsets, type VfnetHeadOptions } from './head.js';
export { vfnetLoss, type VfnetLossInput, type VfnetLossOptions } from './loss.js';
export { deformConv2d, deformConv2dWithPlan, deformSamplingPlan, type DeformSamplingPlan, type DeformConvOptions } from './deform-conv.js';
export { scaleGradient } from './scale-gradient.js';
