import type { AnyModule } from './module.js';
import { BatchNorm2d, Conv2d } from './layers.js';

/**
 * Folds every BatchNorm2d into the Conv2d it follows (Conv2d.foldBatchNorm), for inference: the
 * eval-mode outputs stay the same, the BatchNorms' parameters and running statistics leave the
 * state dict and each conv gets a bias. A BatchNorm is folded when it is registered right after a
 * Conv2d of as many output channels in the same parent (`conv1`/`bn1`, ConvModule's `conv`/`bn`,
 * `downsample.0`/`downsample.1`): the rule mmcv's fuse_conv_bn uses, and how every module here
 * registers a conv that feeds a BatchNorm. Returns how many were folded; the same architecture
 * always folds the same pairs, so a folded state dict loads into a freshly built, folded model.
 */
export function foldBatchNorms(root: AnyModule): number {
  let count = 0;
  for (const [, module] of root.namedModules()) {
    let previous: AnyModule | null = null;
    for (const [, child] of module.namedChildren()) {
      if (child instanceof BatchNorm2d && !child.folded && previous instanceof Conv2d && previous.outChannels === child.numFeatures) {
        previous.foldBatchNorm(child);
        count++;
      }
      previous = child;
    }
  }
  return count;
}
