/**
 * Diagnosis of the overfit run (not part of the suite): trains FoveaBox on the overfit images like
 * `@hpf/testkit`'s harness and logs, per step, loss_cls, loss_bbox and gradient norms (all
 * variables; box branch, classification branch, neck, backbone; the largest), for either smooth-L1
 * implementation (this package's own or @hpf/fpn's, swapped by a module mock).
 * Run from the repository root: FOVEA_SMOOTH_L1=own|fpn FOVEA_HPF=0|1 [FOVEA_LR, FOVEA_WARMUP, FOVEA_CLIP,
 *   FOVEA_STEPS, FOVEA_SEED, FOVEA_DIAG_OUT=x.json]
 *   npx vitest run -c packages/foveabox/test/overfit-diagnose.config.ts
 */
import { expect, it, vi } from 'vitest';
import { writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { overfitImages, useWasmTraining } from '@hpf/testkit';
import { evaluateCoco, type CocoDetection } from '@hpf/eval';

vi.mock('../src/smooth-l1.js', async (importOriginal) => {
  const own = await importOriginal<typeof import('../src/smooth-l1.js')>();
  if (process.env.FOVEA_SMOOTH_L1 !== 'fpn') return own;
  const { l1BoxLoss } = await import('@hpf/fpn');
  return { smoothL1Loss: (p: tf.Tensor2D, t: tf.Tensor2D, n: number, beta: number) => l1BoxLoss(p, t, n, beta) };
});

const { createFoveaBox } = await import('../src/index.js');

const SMALL_INPUT = {
  baseEdges: [8, 16, 32, 64, 128],
  scaleRanges: [
    [0.5, 32],
    [16, 64],
    [32, 128],
    [64, 256],
    [128, 1024],
  ] as Array<[number, number]>,
};
const env = process.env;
const steps = Number(env.FOVEA_STEPS ?? 60);
const lr = Number(env.FOVEA_LR ?? 0.01);
const warmup = Number(env.FOVEA_WARMUP ?? 0);
const clip = env.FOVEA_CLIP === undefined ? undefined : Number(env.FOVEA_CLIP);
const hpf = env.FOVEA_HPF === '1';

it('diagnose', { timeout: 3_600_000 }, async () => {
  await useWasmTraining();
  const data = overfitImages(2, 18);
  const det = createFoveaBox({ numClasses: 10, backbone: 'resnet10-mini', neckChannels: 32, featChannels: 32, stackedConvs: 1, ...SMALL_INPUT, hpf, seed: Number(env.FOVEA_SEED ?? 0) });
  const images = tf.tensor4d(data.pixels, [data.count, data.size, data.size, 3]);
  const optimizer = tf.train.momentum(lr, 0.9);
  const variables = det.trainableVariables();
  // tf variable name -> state-dict name (conv_reg, conv_cls, ...), to group the gradient norms
  const label = new Map(det.model.stateDict().map(([n, v]) => [v.name, n] as const));
  const rows: Array<Record<string, unknown>> = [];
  const norm = (gs: tf.Tensor[]) => (gs.length === 0 ? 0 : Math.sqrt(tf.tidy(() => tf.addN(gs.map((g) => tf.sum(tf.square(g)))).dataSync()[0]!)));
  for (let step = 0; step < steps; step++) {
    const factor = warmup > 0 && step < warmup ? 1 / 3 + (2 / 3) * (step / warmup) : 1;
    (optimizer as unknown as { learningRate: number }).learningRate = lr * factor;
    let parts: Record<string, number> = {};
    let gammas: number[] = [];
    const { value, grads } = tf.variableGrads(() => {
      const r = det.computeLoss(images, data.targets);
      parts = Object.fromEntries(Object.entries(r.losses).map(([k, v]) => [k, v.dataSync()[0]!]));
      gammas = r.stats.levels.map((l) => l.gamma);
      tf.dispose(Object.values(r.losses));
      return r.total;
    }, variables);
    const names = Object.keys(grads);
    const pick = (f: (n: string) => boolean) => names.filter((n) => f(label.get(n) ?? n)).map((n) => grads[n]!);
    const gradNorm = norm(Object.values(grads));
    let scaled = grads;
    if (clip !== undefined && gradNorm > clip) scaled = Object.fromEntries(names.map((n) => [n, tf.mul(grads[n]!, clip / gradNorm)]));
    const row = {
      step,
      lr: lr * factor,
      total: value.dataSync()[0]!,
      ...parts,
      gradNorm,
      regNorm: norm(pick((n) => /reg/.test(n))),
      clsNorm: norm(pick((n) => /cls/.test(n))),
      neckNorm: norm(pick((n) => n.startsWith('neck.'))),
      backboneNorm: norm(pick((n) => n.startsWith('backbone.'))),
      bnNorm: norm(pick((n) => /\.bn\d|downsample\.1/.test(n))),
      largest: names.map((n) => [label.get(n) ?? n, norm([grads[n]!])] as const).reduce((a, b) => (b[1] > a[1] ? b : a)),
      gammas,
    };
    rows.push(row);
    console.log(JSON.stringify(row));
    optimizer.applyGradients(scaled as unknown as Parameters<typeof optimizer.applyGradients>[0]);
    tf.dispose([value, ...Object.values(grads), ...(scaled === grads ? [] : Object.values(scaled))]);
    if (!Number.isFinite(row.total)) break;
  }
  let stats = null;
  if (rows.every((r) => Number.isFinite(r.total as number))) {
    const detections = await det.predict(images);
    const results: CocoDetection[] = detections.flatMap((dets, i) =>
      dets.map((d) => ({ image_id: i + 1, category_id: d.label + 1, bbox: [d.box[0], d.box[1], d.box[2] - d.box[0], d.box[3] - d.box[1]] as [number, number, number, number], score: d.score })),
    );
    stats = evaluateCoco({ images: [{ id: 1 }, { id: 2 }], annotations: data.annotations, categories: Array.from({ length: 10 }, (_, d) => ({ id: d + 1 })) }, results).stats;
  }
  console.log('AP50', stats?.AP50);
  if (env.FOVEA_DIAG_OUT !== undefined) writeFileSync(env.FOVEA_DIAG_OUT, JSON.stringify({ env: { steps, lr, warmup, clip, hpf, seed: env.FOVEA_SEED ?? '0', impl: env.FOVEA_SMOOTH_L1 ?? 'own' }, rows, stats, variables: variables.map((v) => label.get(v.name) ?? v.name) }));
  optimizer.dispose();
  images.dispose();
  det.dispose();
  expect(rows.length).toBeGreaterThan(0);
});
