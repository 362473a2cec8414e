// @hpf/engine registers tfjs-core's gradient functions (and the wasm training kernels), which
// computeLoss needs under tf.variableGrads / optimizer.minimize.
import '@hpf/engine';

export { createVfnet, VfnetDetector, VFNET_DEFAULTS, type VfnetOptions, type VfnetConfig } from './vfnet.js';
export { VfnetHead, DeformConv2d, starOffsets, type VfnetHeadOptions } from './head.js';
export { vfnetLoss, type VfnetLossInput, type VfnetLossOptions } from './loss.js';
export { deformConv2d, deformConv2dWithPlan, deformSamplingPlan, type DeformSamplingPlan, type DeformConvOptions } from './deform-conv.js';
export { scaleGradient } from './scale-gradient.js';
