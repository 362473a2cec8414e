import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { DETECTORS, DetectorUnavailableError, UnknownDetectorError, loadDetectorFactory, parseDetectorList, type DetectorEntry } from '../src/registry.js';
import { detectorOptionsFor, TRAIN_DEFAULTS, type TrainOptions } from '../src/train.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const base: TrainOptions = { ...TRAIN_DEFAULTS, detector: 'atss', hpf: true, data: 'x', out: 'y' };

describe('detector registry', () => {
  it('loads the factories of the registered adapters', async () => {
    for (const name of Object.keys(DETECTORS)) expect(typeof (await loadDetectorFactory(name))).toBe('function');
  });
  it('an unknown name is an error listing the known ones', async () => {
    await expect(loadDetectorFactory('yolo')).rejects.toThrow(new UnknownDetectorError('yolo'));
    await expect(loadDetectorFactory('yolo')).rejects.toThrow("unknown detector 'yolo'; known detectors: atss, retinanet, fcos, gfl, foveabox, freeanchor, paa");
    expect(() => parseDetectorList('atss,yolo')).toThrow("unknown detector 'yolo'");
  });
  it('a broken adapter makes only that detector unavailable, with an error naming it', async () => {
    const registry: Record<string, DetectorEntry> = {
      ...DETECTORS,
      broken: { load: () => import('@hpf/does-not-exist' as string), smallInput: {}, smallInputNote: '' },
      empty: { load: async () => undefined as never, smallInput: {}, smallInputNote: '' },
    };
    await expect(loadDetectorFactory('broken', registry)).rejects.toThrow(DetectorUnavailableError);
    await expect(loadDetectorFactory('broken', registry)).rejects.toThrow(/^detector 'broken' is unavailable: its adapter failed to load \(/);
    await expect(loadDetectorFactory('empty', registry)).rejects.toThrow("detector 'empty' is unavailable: its adapter failed to load (the module does not export its factory function)");
    expect(typeof (await loadDetectorFactory('atss', registry))).toBe('function');
  });
  it('all expands to every detector; lists are de-duplicated', () => {
    expect(parseDetectorList('all')).toEqual(Object.keys(DETECTORS));
    expect(parseDetectorList('fcos, atss,fcos')).toEqual(['fcos', 'atss']);
    expect(() => parseDetectorList(',')).toThrow('--detectors: no detector named');
  });
  it('the small-input override applies to both hpf modes at <= 256 px, and only then in auto mode', () => {
    for (const hpf of [true, false]) {
      expect(detectorOptionsFor({ ...base, hpf }, 10, 128)).toEqual({ numClasses: 10, backbone: 'resnet18-mini', hpf, seed: 0, octaveBaseScale: 2 });
    }
    expect(detectorOptionsFor(base, 10, 512)).not.toHaveProperty('octaveBaseScale');
    expect(detectorOptionsFor({ ...base, smallInput: false }, 10, 128)).not.toHaveProperty('octaveBaseScale');
    expect(detectorOptionsFor({ ...base, detector: 'fcos' }, 10, 128).regressRanges).toEqual([[-1, 32], [32, 64], [64, 128], [128, 256], [256, 1e8]]);
    // schedule-dependent options: TOOD's warm-up follows the run's length in epochs, others get none
    expect(detectorOptionsFor({ ...base, detector: 'tood' }, 10, 128, 7).epochs).toBe(7);
    expect(detectorOptionsFor(base, 10, 128, 7)).not.toHaveProperty('epochs');
    // user options win over the override
    expect(detectorOptionsFor({ ...base, detectorOptions: { octaveBaseScale: 5 } }, 10, 128).octaveBaseScale).toBe(5);
  });
  it('every registered small-input setting is accepted by its adapter', async () => {
    for (const [name, entry] of Object.entries(DETECTORS)) {
      const factory = await loadDetectorFactory(name);
      const det = factory({ numClasses: 3, hpf: false, seed: 0, backbone: 'resnet10-mini', neckChannels: 32, featChannels: 32, stackedConvs: 1, ...entry.smallInput });
      expect(det.name).toBe(name);
      det.dispose();
    }
  });
});
