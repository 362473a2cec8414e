export {
  ConvTower,
  createHeadConv,
  createScales,
  HEAD_INIT_STD,
  DEFAULT_PRIOR_PROB,
  type ConvTowerOptions,
  type HeadConvOptions,
} from './head.js';
