// Network building blocks: modules and layers, initialisation, seeded randomness, ResNet backbones,
// the FPN neck, conv-tower head blocks, and weight IO (hpf weights, safetensors, torch layout).
export * from './layers/index.js';
export * from './backbone/index.js';
export * from './neck/index.js';
export * from './head/index.js';
export * from './io/index.js';
