import { register } from 'node:module';
register('./support/tfjs-core-resolve-hook.mjs', import.meta.url);
const tf = await import('@tensorflow/tfjs-core');
await import('@tensorflow/tfjs-backend-wasm');
const { registerWasmTrainingKernels } = await import('../src/index.js');
const { createConvNet, makeBatch } = await import('../test/support/conv-net.js');
registerWasmTrainingKernels();
await tf.setBackend(process.argv[2] ?? 'wasm');
const net = createConvNet({ stemChannels: [32, 64, 128, 128, 128], fpnChannels: 64, numOutputs: 10, groups: 8, seed: 1 });
const { images, targets, positives } = makeBatch(net, 8, 128, 2, 64);
const optimizer = tf.train.sgd(0.01);
const step = () => { const l = optimizer.minimize(() => net.loss(images, targets, positives), true, net.variables); l?.dataSync(); l?.dispose(); };
step();
const wrap = new Map<string, number>(); const shapes = new Map<string, number>(); let depth = 0;
// wall time per kernel: wrap kernelFuncs
for (const k of tf.getKernelsForBackend('wasm')) {
  const f = k.kernelFunc;
  (k as any).kernelFunc = (args: any) => { depth++; const t = performance.now(); const r = f(args); depth--; const dt = performance.now() - t; if (depth === 0) wrap.set(k.kernelName, (wrap.get(k.kernelName) ?? 0) + dt);
    if (k.kernelName.startsWith('Conv2D')) { const key = `${depth ? '  inner ' : ''}${k.kernelName} ${JSON.stringify(Object.values(args.inputs).map((t: any) => t.shape))} s=${JSON.stringify(args.attrs.strides)}`; shapes.set(key, (shapes.get(key) ?? 0) + dt); } return r; };
}
const t0 = performance.now(); step(); const total = performance.now() - t0;
console.log('total', total.toFixed(0));
console.log([...wrap].sort((a, b) => b[1] - a[1]).slice(0, 25).map(([k, v]) => `${k} ${v.toFixed(1)}`).join('\n'));
console.log([...shapes].sort((a, b) => b[1] - a[1]).slice(0, 40).map(([k, v]) => `${v.toFixed(1)} ${k}`).join('\n'));
