/**
 * An adapter built as the stable-gain `quick` preset trains it (resnet10-mini, 32-channel FPN and
 * head, 2 stacked convs, 10 classes, the registry's small-input priors), HPF off, seed 0: the
 * network the engine's step and predict profiles measure.
 */
import { DETECTORS } from '../../src/registry.js';

export async function createQuickDetector(name: string, extra: Record<string, unknown> = {}) {
  const entry = DETECTORS[name];
  if (entry === undefined) throw new Error(`--detectors: unknown detector '${name}'`);
  const factory = await entry.load();
  return factory({
    numClasses: 10,
    hpf: false,
    seed: 0,
    backbone: 'resnet10-mini',
    neckChannels: 32,
    featChannels: 32,
    stackedConvs: 2,
    ...entry.smallInput,
    ...(entry.scheduleOptions?.({ epochs: 5 }) ?? {}),
    ...extra,
  });
}
