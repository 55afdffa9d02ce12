/**
 * TensorFlow.js's training loop for the benchmarks, node-free (the Node bench, test/bench/tfjs.ts, and the
 * browser bench's worker run it): the same 784-H-10 network from the same initial weights, on the same
 * batches (gradpipe's, wrapped as tensors), with `tf.train.sgd` minimising `tf.losses.softmaxCrossEntropy`
 * on the logits. The hidden layer is `tf.fused.matMul` with bias and ReLU, kernels stored [in, out], which
 * is what `tf.layers.dense` runs; the figure is TensorFlow.js's best hand-written loop, without
 * `model.fit`'s bookkeeping.
 */
import type { LabeledBatch } from '../../src/stages/batch.js';
import { LR, mean, transposed, type Job, type Measurement } from './job.js';

type Tf = typeof import('@tensorflow/tfjs');

/** Trains from `initial` (flat, see common.flatten) on `batches` with the backend in use; times after the warm-up. */
export const runTf = (tf: Tf, initial: Float32Array, batches: readonly LabeledBatch[], job: Job): Measurement => {
  const h = job.hidden;
  const at = [0, h * 784, h * 784 + h, h * 784 + h + 10 * h, h * 784 + h + 10 * h + 10];
  const slice = (i: number) => initial.subarray(at[i]!, at[i + 1]!);
  const w1 = tf.variable(tf.tensor2d(transposed(slice(0), h, 784), [784, h]));
  const b1 = tf.variable(tf.tensor1d(slice(1)));
  const w2 = tf.variable(tf.tensor2d(transposed(slice(2), 10, h), [h, 10]));
  const b2 = tf.variable(tf.tensor1d(slice(3)));
  const opt = tf.train.sgd(LR);
  const warmSteps = job.warmup / job.batch;
  const losses: number[] = [];
  let t0 = performance.now();
  try {
    batches.forEach((b, s) => {
      if (s === warmSteps) t0 = performance.now();
      const cost = tf.tidy(() => {
        const x = tf.tensor2d(b.inputs.data, [b.inputs.rows, 784]);
        const y = tf.tensor2d(b.targets.data, [b.targets.rows, 10]);
        const c = opt.minimize(() => {
          const hidden = tf.fused.matMul({ a: x, b: w1, bias: b1, activation: 'relu' });
          return tf.losses.softmaxCrossEntropy(y, tf.add(tf.matMul(hidden, w2), b2));
        }, true, [w1, b1, w2, b2]);
        if (c === null) throw new Error('tf.train.sgd: minimize returned no cost');
        return c;
      });
      losses.push(cost.dataSync()[0]!);
      cost.dispose();
    });
    const seconds = (performance.now() - t0) / 1000;
    // back to gradpipe's layout, to check that the same work was done
    const back = (v: typeof w1, rows: number, cols: number) => transposed(v.dataSync() as Float32Array, cols, rows);
    const weights = new Float32Array(at[4]!);
    weights.set(back(w1, h, 784), at[0]);
    weights.set(b1.dataSync() as Float32Array, at[1]);
    weights.set(back(w2, 10, h), at[2]);
    weights.set(b2.dataSync() as Float32Array, at[3]);
    return { seconds, samples: (batches.length - warmSteps) * job.batch, tailLoss: mean(losses.slice(-10)), weights };
  } finally {
    opt.dispose();
    for (const v of [w1, b1, w2, b2]) v.dispose();
  }
};
