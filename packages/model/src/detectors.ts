/**
 * The detectors an exported model can name, each loaded with a dynamic import: a bundler (Vite,
 * esbuild with splitting) puts every adapter in its own chunk, so a page downloads only the one
 * its model uses.
 */
import type { Detector } from '@hpf/dense';

export type DetectorFactory = (options: Record<string, unknown>) => Detector;

// The descriptor's options were accepted by this factory when the model was trained; the factory
// validates them again (unknown keys, ranges) when the model is rebuilt.
const from =
  <O>(create: (options: O) => Detector): DetectorFactory =>
  (options) =>
    create(options as O);

export const DETECTOR_FACTORIES: Readonly<Record<string, () => Promise<DetectorFactory>>> = {
  atss: async () => from((await import('@hpf/atss')).createAtss),
  retinanet: async () => from((await import('@hpf/retinanet')).createRetinaNet),
  fcos: async () => from((await import('@hpf/fcos')).createFcos),
  gfl: async () => from((await import('@hpf/gfl')).createGfl),
  foveabox: async () => from((await import('@hpf/foveabox')).createFoveaBox),
  freeanchor: async () => from((await import('@hpf/freeanchor')).createFreeAnchor),
  paa: async () => from((await import('@hpf/paa')).createPaa),
  vfnet: async () => from((await import('@hpf/vfnet')).createVfnet),
  tood: async () => from((await import('@hpf/tood')).createTood),
};

/** The factory of `name`, or an error listing the known names. */
export async function detectorFactory(name: string, where: string): Promise<DetectorFactory> {
  const load = Object.hasOwn(DETECTOR_FACTORIES, name) ? DETECTOR_FACTORIES[name] : undefined;
  if (load === undefined) throw new Error(`${where}: unknown detector '${name}'; known detectors: ${Object.keys(DETECTOR_FACTORIES).join(', ')}`);
  return load();
}
