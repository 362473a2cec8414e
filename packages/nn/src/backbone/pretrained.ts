/**
 * ImageNet-pretrained ResNet weights from a safetensors file: torchvision's `resnet18/34/50`
 * state dicts, and timm's plain ResNets (`resnet50.a1_in1k`, `resnet18.tv_in1k`, ...), which use the
 * same names. The file may hold the classifier (`fc.*`) and BatchNorm's `num_batches_tracked`
 * (both ignored) and may be a whole model whose backbone sits under a prefix.
 */
import { isBatchCounter, loadTensors, safetensorsSource, type TorchLoadReport } from '../io/torch-state.js';
import type { SafetensorsFile } from '../io/safetensors.js';
import type { ResNet } from './resnet.js';

/**
 * Where a ResNet can sit in a state dict: at the top (torchvision, timm), under `backbone.`
 * (mmdetection detectors), `module.` (DistributedDataParallel) or `model.` (training wrappers).
 */
export const BACKBONE_PREFIXES = ['', 'backbone.', 'module.', 'model.', 'module.backbone.'] as const;

export interface BackboneLoadReport extends TorchLoadReport {
  /** The prefix the backbone was found under ('' for a plain torchvision/timm file). */
  prefix: string;
}

/** Depth, block type and stem width a state dict describes, for the error message of a wrong file. */
export function describeResNetState(shapes: ReadonlyMap<string, readonly number[]>, prefix = ''): string | undefined {
  const blocks = [0, 0, 0, 0];
  let bottleneck = false;
  let deepStem = false;
  for (const name of shapes.keys()) {
    if (!name.startsWith(prefix)) continue;
    const rest = name.slice(prefix.length);
    const m = /^layer([1-4])\.(\d+)\./.exec(rest);
    if (m !== null) blocks[Number(m[1]) - 1] = Math.max(blocks[Number(m[1]) - 1]!, Number(m[2]) + 1);
    if (/^layer[1-4]\.\d+\.conv3\./.test(rest)) bottleneck = true;
    if (/^conv1\.\d+\./.test(rest)) deepStem = true;
  }
  if (blocks.every((b) => b === 0)) return undefined;
  const known: Record<string, string> = { 'basic 2,2,2,2': 'resnet18', 'basic 3,4,6,3': 'resnet34', 'bottleneck 3,4,6,3': 'resnet50', 'bottleneck 3,4,23,3': 'resnet101' };
  const layout = `${bottleneck ? 'bottleneck' : 'basic'} ${blocks.join(',')}`;
  const name = known[layout];
  const stem = shapes.get(`${prefix}conv1.weight`);
  const width = stem === undefined ? '' : `, stem width ${stem[0]}`;
  let text = `the file holds a ResNet with ${bottleneck ? 'Bottleneck' : 'BasicBlock'}s [${blocks.join(', ')}]${name === undefined ? '' : ` (${name})`}${width}`;
  if (deepStem) text += ' and a deep 3-conv stem (conv1.0, conv1.1, ...: a timm c/d/s variant, which is a different network)';
  return text;
}

/**
 * Loads pretrained weights into a ResNet backbone from a parsed safetensors file (`@hpf/nn/node`
 * also takes a path);
 * the backbone is looked up under each of `BACKBONE_PREFIXES` (the first that has `conv1.weight`)
 * unless `prefix` is given. Ignored: the ImageNet classifier `fc.*`, `num_batches_tracked`, and,
 * under a prefix, everything outside it. Anything else that does not fit is one error listing
 * every missing, unexpected and mis-shaped tensor; then nothing is assigned.
 */
export function loadBackboneWeights(backbone: ResNet, file: SafetensorsFile, options: { prefix?: string } = {}): BackboneLoadReport {
  const prefix = options.prefix ?? BACKBONE_PREFIXES.find((p) => file.tensors.has(`${p}conv1.weight`));
  if (prefix === undefined) {
    const first = [...file.tensors.keys()].slice(0, 5).map((n) => `'${n}'`).join(', ');
    throw new Error(
      `${file.source}: no ResNet stem 'conv1.weight' under any of the prefixes ${BACKBONE_PREFIXES.map((p) => `'${p}'`).join(', ')} ` +
        `(the file starts with ${first || 'no tensors'}); expected a torchvision or timm ResNet state dict`,
    );
  }
  const { block, layers, widthMultiplier, baseWidth } = backbone.config;
  const target = `the backbone (${block} blocks [${layers.join(', ')}], width ${baseWidth} x ${widthMultiplier})`;
  const report = loadTensors(backbone, safetensorsSource(file), {
    prefix,
    target,
    ignore: (name) => !name.startsWith(prefix) || isBatchCounter(name) || /^fc\.(weight|bias)$/.test(name.slice(prefix.length)),
    hint: (shapes) => describeResNetState(shapes, prefix),
  });
  return { ...report, prefix };
}
