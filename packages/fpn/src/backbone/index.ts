export { ResNet, BasicBlock, Bottleneck, scaledWidth, type ResNetConfig, type BlockType, type BackboneFeatures, type ResidualBlock } from './resnet.js';
export {
  createBackbone,
  resolveBackboneConfig,
  rngFromOptions,
  BACKBONE_PRESETS,
  type BackbonePreset,
  type BackboneOptions,
} from './presets.js';
