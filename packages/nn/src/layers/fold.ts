import type { AnyModule } from './module.js';
import type { BatchNorm2d, Conv2d } from './layers.js';

// Recognised by their methods, not instanceof: a detector built through the other build of
// @hpf/nn (a CJS caller's dynamic import() loads the adapters' ESM build) has other classes.
const has = (m: AnyModule | null, method: string, count: string): boolean => {
  const fields = m as unknown as Record<string, unknown> | null;
  return fields !== null && typeof fields[method] === 'function' && typeof fields[count] === 'number';
};
const isBatchNorm = (m: AnyModule | null): m is BatchNorm2d => has(m, 'markFolded', 'numFeatures');
const isConv = (m: AnyModule | null): m is Conv2d => has(m, 'foldBatchNorm', 'outChannels');

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
      if (isBatchNorm(child) && !child.folded && isConv(previous) && previous.outChannels === child.numFeatures) {
        previous.foldBatchNorm(child);
        count++;
      }
      previous = child;
    }
  }
  return count;
}
