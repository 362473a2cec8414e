import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTood } from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('TOOD T-head', () => {
  it("registers mmdetection's parameter names", () => {
    const det = createTood({ numClasses: 3, backbone: 'resnet10-mini', neckChannels: 32, featChannels: 32, stackedConvs: 2 });
    const names = det.model.namedParameters().map(([name]) => name);
    for (const name of [
      'bbox_head.inter_convs.0.conv.weight',
      'bbox_head.inter_convs.1.gn.weight',
      'bbox_head.cls_decomp.layer_attention.0.weight',
      'bbox_head.cls_decomp.layer_attention.2.bias',
      'bbox_head.reg_decomp.reduction_conv.conv.weight',
      'bbox_head.reg_decomp.reduction_conv.gn.bias',
      'bbox_head.tood_cls.weight',
      'bbox_head.tood_reg.bias',
      'bbox_head.cls_prob_module.0.weight',
      'bbox_head.cls_prob_module.2.bias',
      'bbox_head.reg_offset_module.2.weight',
      'bbox_head.scales.4.scale',
    ]) {
      expect(names).toContain(name);
    }
    // the reduction conv has GN, hence no bias (mmdetection: bias=norm_cfg is None)
    expect(names).not.toContain('bbox_head.cls_decomp.reduction_conv.conv.bias');
    det.dispose();
  });

  it('at initialisation: score ~ sqrt(0.01 * 0.01) and boxes ~ one stride around each grid point', () => {
    const det = createTood({ numClasses: 3, backbone: 'resnet10-mini', neckChannels: 32, featChannels: 32, stackedConvs: 2 });
    const images = tf.randomUniform([1, 64, 64, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    const out = det.model.forward(images);
    const strides = [8, 16, 32, 64, 128];
    out.cls.forEach((z, l) => {
      const p = tf.sigmoid(z).dataSync();
      for (const v of p) expect(Math.abs(v - 0.01)).toBeLessThan(0.002);
      const [, h, w] = z.shape;
      const boxes = out.boxes[l]!.dataSync();
      const s = strides[l]!;
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          const b = Array.from(boxes.subarray(4 * (y * w + x), 4 * (y * w + x) + 4));
          // exp(reg) * Scale 1 with reg ~ N(0, ~0.17^2) (std 0.01 weights over 9 x 32 GN inputs): about
          // one stride on each side; offsets ~0 (std 0.001 init) keep the sampling at the grid point
          [x - 1, y - 1, x + 1, y + 1].forEach((g, k) => expect(Math.abs(b[k]! - g * s)).toBeLessThan(0.5 * s));
        }
    });
    tf.dispose([images, ...out.cls, ...out.boxes]);
    det.dispose();
  });
});
