// @hpf/engine registers tfjs-core's gradient functions (and the wasm training kernels), which
// computeLoss needs under tf.variableGrads / optimizer.minimize.
import '@hpf/engine';

export { deformConv2d, deformConv2dWithPlan, deformSamplingPlan, type DeformSamplingPlan, type DeformConvOptions } from './deform-conv.js';
