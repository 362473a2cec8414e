export { Fpn, createFpn, type FpnOptions, type ExtraConvSource } from './fpn.js';
export { upsampleNearest } from './upsample.js';
