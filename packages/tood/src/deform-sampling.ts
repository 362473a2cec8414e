import * as tf from '@tensorflow/tfjs-core';

/**
 * TOOD's box-offset alignment (mmdetection TOODHead.deform_sampling, a 1x1 deformable conv with
 * one deform group per channel and unit weights): every channel c of `feat` [N, H, W, C] is sampled
 * bilinearly at (y + dy, x + dx), with (dy, dx) = offset[n, y, x, 2c], offset[n, y, x, 2c + 1]
 * (mmcv's offset layout), zero outside the map (mmcv's rule: a point with y <= -1, x <= -1, y >= H or
 * x >= W samples 0, and corners outside the map contribute 0).
 *
 * The integer corners and their validity are read from the offsets on the CPU (one `dataSync`), so
 * they are constants to the gradient tape; the gradient reaches `feat` through a gather of the four
 * corners and `offset` through the bilinear weights (the fractional parts), as in mmcv's kernel.
 * Returns a new tensor the caller owns.
 */
export function deformSampling(feat: tf.Tensor4D, offset: tf.Tensor4D): tf.Tensor4D {
  const [n, h, w, c] = feat.shape;
  if (offset.rank !== 4 || offset.shape[0] !== n || offset.shape[1] !== h || offset.shape[2] !== w || offset.shape[3] !== 2 * c) {
    throw new Error(`deformSampling: offset must be [${n}, ${h}, ${w}, ${2 * c}] for feat [${feat.shape.join(', ')}], got [${offset.shape.join(', ')}]`);
  }
  const off = offset.dataSync();
  const total = n * h * w * c;
  const index = new Int32Array(4 * total);
  const valid = new Float32Array(4 * total);
  const floorY = new Float32Array(total);
  const floorX = new Float32Array(total);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let ch = 0; ch < c; ch++) {
          const k = ((b * h + y) * w + x) * c + ch;
          const py = y + off[2 * k]!;
          const px = x + off[2 * k + 1]!;
          const y0 = Math.floor(py);
          const x0 = Math.floor(px);
          floorY[k] = y0;
          floorX[k] = x0;
          const inside = py > -1 && px > -1 && py < h && px < w;
          [
            [y0, x0],
            [y0, x0 + 1],
            [y0 + 1, x0],
            [y0 + 1, x0 + 1],
          ].forEach(([yy, xx], corner) => {
            const ok = inside && yy! >= 0 && yy! < h && xx! >= 0 && xx! < w;
            valid[corner * total + k] = ok ? 1 : 0;
            index[corner * total + k] = ok ? ((b * h + yy!) * w + xx!) * c + ch : 0;
          });
        }
      }
    }
  }
  return tf.tidy(() => {
    const [dy, dx] = tf.unstack(tf.reshape(offset, [n, h, w, c, 2]), 4) as [tf.Tensor4D, tf.Tensor4D];
    const gridY = tf.reshape(tf.range(0, h, 1, 'float32'), [1, h, 1, 1]);
    const gridX = tf.reshape(tf.range(0, w, 1, 'float32'), [1, 1, w, 1]);
    const ly = tf.sub(tf.add(gridY, dy), tf.tensor4d(floorY, [n, h, w, c]));
    const lx = tf.sub(tf.add(gridX, dx), tf.tensor4d(floorX, [n, h, w, c]));
    const corners = tf.mul(tf.reshape(tf.gather(tf.reshape(feat, [-1]), tf.tensor1d(index, 'int32')), [4, n, h, w, c]), tf.tensor5d(valid, [4, n, h, w, c]));
    const [v00, v01, v10, v11] = tf.unstack(corners, 0);
    const hy = tf.sub(1, ly);
    const hx = tf.sub(1, lx);
    return tf.addN([tf.mul(tf.mul(hy, hx), v00!), tf.mul(tf.mul(hy, lx), v01!), tf.mul(tf.mul(ly, hx), v10!), tf.mul(tf.mul(ly, lx), v11!)]) as tf.Tensor4D;
  });
}
