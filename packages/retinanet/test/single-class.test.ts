import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { installTrainingKernels } from '@hpf/engine';
import { expectWellFormedPredict } from '@hpf/testkit';
import { createRetinaNet } from '../src/index.js';

// Gradients (tf.variableGrads) need tfjs-core's gradient registrations.
installTrainingKernels();

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('RetinaNet with one class', () => {
  it('trains (finite loss and gradients, with HPF and without) and predicts label 0', async () => {
    for (const hpf of [true, false]) {
      const det = createRetinaNet({ numClasses: 1, hpf, backbone: 'resnet10-mini', neckChannels: 32, featChannels: 32, stackedConvs: 1, test: { scoreThreshold: 0 } });
      const images = tf.randomUniform([1, 64, 64, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
      const targets = [{ boxes: new Float32Array([8, 8, 40, 36]), labels: new Int32Array([0]), ignoreBoxes: new Float32Array(0) }];
      const { value, grads } = tf.variableGrads(() => det.computeLoss(images, targets).total);
      const loss = value.dataSync()[0]!;
      expect(Number.isFinite(loss) && loss > 0, `hpf ${hpf}: loss ${loss}`).toBe(true);
      for (const [name, g] of Object.entries(grads)) expect(g.dataSync().every(Number.isFinite), `${name} gradient`).toBe(true);
      tf.dispose([value, ...Object.values(grads)]);
      await expectWellFormedPredict(det, 1);
      images.dispose();
      det.dispose();
    }
  });
});
