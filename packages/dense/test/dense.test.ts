import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { ProgressiveFocus, sigmoidFocalLoss } from '@hpf/loss';
import { createRng } from '@hpf/nn';
import {
  batchByLevel,
  boxesToOriginal,
  centernessTargets,
  concatLevels,
  DenseHead,
  flattenLevels,
  focalClassificationLoss,
  ignoreCentersInBoxes,
  resolveDetectorOptions,
  tileLevelPriors,
  type DenseDefaults,
} from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('flattenLevels and batchByLevel agree on the prior order (image, y, x, anchor)', () => {
  it('row r of the flattened output is the target of row r of the batched targets', () => {
    // value = 1000 n + 100 y + 10 x + a, repeated over K = 2 channels (k adds 0.1 k)
    const [n, h, w, a, k] = [2, 2, 3, 2, 2];
    const values: number[] = [];
    for (let i = 0; i < n; i++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let j = 0; j < a; j++) for (let c = 0; c < k; c++) values.push(1000 * i + 100 * y + 10 * x + j + 0.1 * c);
    const level = tf.tensor4d(values, [n, h, w, a * k]);
    const [flat] = flattenLevels([level], k);
    expect(flat!.shape).toEqual([n * h * w * a, k]);
    // per-image targets over two levels (this level: h * w * a = 12 priors, another of 1 prior)
    const perImage = [0, 1].map((i) => {
      const t = new Float32Array(13);
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let j = 0; j < a; j++) t[(y * w + x) * a + j] = 1000 * i + 100 * y + 10 * x + j;
      t[12] = -1;
      return t;
    });
    const [levelTargets, other] = batchByLevel(perImage, [12, 1]);
    const rows = flat!.arraySync() as number[][];
    expect(rows.map((r) => Math.round(r[0]!))).toEqual(Array.from(levelTargets!));
    expect(Array.from(other!)).toEqual([-1, -1]);
    tf.dispose([level, flat!]);
  });

  it('batchByLevel keeps the array type and width; tileLevelPriors and concatLevels', () => {
    const perImage = [Int32Array.from([1, 2, 3, 4, 5, 6]), Int32Array.from([7, 8, 9, 10, 11, 12])];
    const out = batchByLevel(perImage, [2, 1], 2);
    expect(out[0]).toBeInstanceOf(Int32Array);
    expect(Array.from(out[0]!)).toEqual([1, 2, 3, 4, 7, 8, 9, 10]);
    expect(Array.from(out[1]!)).toEqual([5, 6, 11, 12]);
    expect(Array.from(tileLevelPriors(Float32Array.from([1, 2]), 3))).toEqual([1, 2, 1, 2, 1, 2]);
    expect(Array.from(concatLevels([Int32Array.from([1]), Int32Array.from([2, 3])]))).toEqual([1, 2, 3]);
    expect(() => batchByLevel([new Float32Array(5)], [2, 1], 2)).toThrow(/image 0 has 5 values/);
  });
});

describe('centernessTargets', () => {
  it('is sqrt(min(l,r)/max(l,r) * min(t,b)/max(t,b)), 0 outside the box', () => {
    const points = Float32Array.from([8, 8, 10, 10, 30, 5]);
    const boxes = Float32Array.from([2, 2, 18, 18, 0, 0, 20, 40, 0, 0, 20, 20]);
    const c = centernessTargets(points, boxes);
    expect(c[0]).toBeCloseTo(0.6, 6); // l = t = 6, r = b = 10
    expect(c[1]).toBeCloseTo(Math.sqrt(1 * (10 / 30)), 6); // l = r = 10, t = 10, b = 30
    expect(c[2]).toBe(0);
  });
});

describe('ignoreCentersInBoxes', () => {
  it('turns background priors with a centre strictly inside a crowd box into ignored, never positives', () => {
    const labels = Int32Array.from([3, 3, 0, 3]);
    const centers = Float32Array.from([5, 5, 15, 15, 6, 6, 10, 0]);
    expect(ignoreCentersInBoxes(labels, centers, Float32Array.from([0, 0, 10, 10]), 3)).toBe(1);
    expect(Array.from(labels)).toEqual([-1, 3, 0, 3]);
  });
});

describe('boxesToOriginal', () => {
  it('undoes the letterbox, clips, then mirrors (hand-worked)', () => {
    const meta = { originalSize: { width: 200, height: 100 }, scale: [0.32, 0.32] as const, offset: [0, 16] as const, flipped: false };
    const box = Float32Array.from([16, 24, 32, 40]);
    const plain = boxesToOriginal(box, meta);
    [50, 25, 100, 75].forEach((v, i) => expect(plain[i]).toBeCloseTo(v, 4));
    const flipped = boxesToOriginal(box, { ...meta, flipped: true });
    [100, 25, 150, 75].forEach((v, i) => expect(flipped[i]).toBeCloseTo(v, 4));
    const clipped = boxesToOriginal(Float32Array.from([-8, 0, 70, 60]), meta);
    [0, 0, 200, 100].forEach((v, i) => expect(clipped[i]).toBeCloseTo(v, 4));
  });
});

describe('focalClassificationLoss', () => {
  it("mode 'off' is the static focal loss of every level summed and divided by avgFactor", () => {
    const logits = [tf.tensor2d([0.3, -2, 1.5, 0.2, -1, 4], [3, 2]), tf.tensor2d([-0.5, 2], [1, 2])];
    const labels = [Int32Array.from([1, 2, -1]), Int32Array.from([0])];
    const focus = new ProgressiveFocus({ mode: 'off', gamma0: 2, delta: 0, w: 0.5 });
    const out = focalClassificationLoss(focus, logits, labels, 2);
    const reference = logits.reduce((s, z, l) => {
      const labelTensor = tf.tensor1d(labels[l]!, 'int32');
      const v = sigmoidFocalLoss({ logits: z, labels: labelTensor }, { reduction: 'sum' }).dataSync()[0]!;
      labelTensor.dispose();
      return s + v;
    }, 0);
    expect(out.loss.dataSync()[0]).toBeCloseTo(reference / 2, 6);
    expect(out.levels.map((l) => l.numPositives)).toEqual([1, 1]);
    tf.dispose([...logits, out.loss]);
  });
});

const DEFAULTS: DenseDefaults = {
  backbone: 'resnet10-mini',
  neckChannels: 64,
  featChannels: 64,
  stackedConvs: 4,
  test: { scoreThreshold: 0.05, nmsPre: 1000, iouThreshold: 0.6, maxPerImage: 100 },
  focus: { gamma: 2, alpha: 0.25 },
};

describe('resolveDetectorOptions', () => {
  it('fills defaults and maps hpf false/true/options through @hpf/loss', () => {
    const r = resolveDetectorOptions('createX', { numClasses: 4, test: { iouThreshold: 0.5 } }, DEFAULTS);
    expect(r).toMatchObject({ numClasses: 4, backbone: 'resnet10-mini', seed: 0, neckChannels: 64, stackedConvs: 4 });
    expect(r.test).toEqual({ scoreThreshold: 0.05, nmsPre: 1000, iouThreshold: 0.5, maxPerImage: 100 });
    expect(r.hpf).toMatchObject({ mode: 'off', gamma0: 2, delta: 0, w: 0.5 });
    expect(resolveDetectorOptions('createX', { numClasses: 1, hpf: true }, DEFAULTS).hpf).toMatchObject({ mode: 'hierarchical', delta: 0.5 });
    expect(resolveDetectorOptions('createX', { numClasses: 1, hpf: { delta: 0.3 } }, DEFAULTS).hpf.delta).toBe(0.3);
  });

  it('names the offending option', () => {
    expect(() => resolveDetectorOptions('createX', { numClasses: 2, stackedconvs: 2 } as never, DEFAULTS)).toThrow(/createX: unknown option 'stackedconvs'/);
    expect(() => resolveDetectorOptions('createX', { numClasses: 2, topk: 9 } as never, DEFAULTS, ['topk'])).not.toThrow();
    expect(() => resolveDetectorOptions('createX', { numClasses: 2.5 }, DEFAULTS)).toThrow(/'numClasses'/);
    expect(() => resolveDetectorOptions('createX', { numClasses: 2, featChannels: 0 }, DEFAULTS)).toThrow(/'featChannels'/);
    expect(() => resolveDetectorOptions('createX', { numClasses: 2, backbone: 'resnet9' as never }, DEFAULTS)).toThrow(/unknown preset 'resnet9'/);
    expect(() => resolveDetectorOptions('createX', { numClasses: 2, test: { nms: 0.5 } as never }, DEFAULTS)).toThrow(/unknown option 'nms'/);
    expect(() => resolveDetectorOptions('createX', { numClasses: 2, hpf: { gamma: 2 } as never }, DEFAULTS)).toThrow(/gamma/);
  });
});

describe('DenseHead', () => {
  it('has mmdetection names and per-level output shapes; the Scale multiplies the regression', () => {
    const head = new DenseHead({
      inChannels: 8,
      featChannels: 8,
      stackedConvs: 1,
      numClasses: 3,
      numAnchors: 2,
      numLevels: 2,
      norm: { type: 'gn', numGroups: 4 },
      centerness: true,
      scales: true,
      names: { cls: 'atss_cls', reg: 'atss_reg', centerness: 'atss_centerness' },
      rng: createRng(0),
    });
    expect(head.namedParameters().map(([n]) => n)).toEqual([
      'cls_convs.0.conv.weight',
      'cls_convs.0.gn.weight',
      'cls_convs.0.gn.bias',
      'reg_convs.0.conv.weight',
      'reg_convs.0.gn.weight',
      'reg_convs.0.gn.bias',
      'atss_cls.weight',
      'atss_cls.bias',
      'atss_reg.weight',
      'atss_reg.bias',
      'atss_centerness.weight',
      'atss_centerness.bias',
      'scales.0.scale',
      'scales.1.scale',
    ]);
    // the cls bias starts at the prior probability 0.01
    expect(head.clsConv.bias!.dataSync()[0]).toBeCloseTo(-Math.log(99), 5);
    const feats = [tf.randomNormal([2, 4, 4, 8], 0, 1, 'float32', 1), tf.randomNormal([2, 2, 2, 8], 0, 1, 'float32', 2)] as tf.Tensor4D[];
    const a = head.forward(feats);
    expect(a.cls.map((t) => t.shape)).toEqual([
      [2, 4, 4, 6],
      [2, 2, 2, 6],
    ]);
    expect(a.reg[1]!.shape).toEqual([2, 2, 2, 8]);
    expect(a.centerness[0]!.shape).toEqual([2, 4, 4, 2]);
    (head.namedParameters().find(([n]) => n === 'scales.1.scale')![1]).assign(tf.scalar(3));
    const b = head.forward(feats);
    const ratio = tf.div(b.reg[1]!, a.reg[1]!).dataSync();
    for (const r of ratio) expect(r).toBeCloseTo(3, 3);
    expect(Array.from(b.reg[0]!.dataSync())).toEqual(Array.from(a.reg[0]!.dataSync()));
    tf.dispose([...feats, ...a.cls, ...a.reg, ...a.centerness, ...b.cls, ...b.reg, ...b.centerness]);
    head.dispose();
  });
});
