export { ResNet, BasicBlock, Bottleneck, scaledWidth, type ResNetConfig, type BlockType, type BackboneFeatures, type ResidualBlock } from './resnet.js';
export {
  createBackbone,
  resolveBackboneConfig,
  rngFromOptions,
  BACKBONE_PRESETS,
  PRETRAINED_FINE_TUNE,
  IMAGENET_INPUT_NORM,
  type BackbonePreset,
  type BackboneOptions,
} from './presets.js';
export { loadBackboneWeights, describeResNetState, BACKBONE_PREFIXES, type BackboneLoadReport } from './pretrained.js';
