/**
 * TensorFlow.js's side of the training benchmark: the same 784-H-10 network from the same initial weights,
 * on the same batches (gradpipe's, wrapped as tensors), with `tf.train.sgd` minimising
 * `tf.losses.softmaxCrossEntropy` on the logits. The hidden layer is `tf.fused.matMul` with bias and ReLU,
 * kernels stored [in, out], which is what `tf.layers.dense` runs; the figure is TensorFlow.js's best
 * hand-written loop, without `model.fit`'s bookkeeping.
 *
 * Backends: `wasm` (@tensorflow/tfjs-backend-wasm; SIMD when the engine has it; its threaded build needs
 * workers that do not start in Node, so it runs on one thread) and `cpu` (pure JavaScript).
 */
import { createRequire } from 'node:module';
import type { LabeledBatch } from '../../src/stages/batch.js';
import { LR, mean, type Job, type Measurement } from './common.js';

type Tf = typeof import('@tensorflow/tfjs');
export type TfKind = 'wasm' | 'cpu';

let loaded: Promise<Tf | string> | undefined;

/** TensorFlow.js with its WASM backend registered, or why it cannot be loaded. */
const loadTf = (): Promise<Tf | string> =>
  (loaded ??= (async () => {
    try {
      const tf = await import('@tensorflow/tfjs');
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      const dist = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json').replace(/package\.json$/, 'dist/');
      wasm.setWasmPaths(dist);
      return tf;
    } catch (e) {
      return `TensorFlow.js is not installed (${(e as Error).message.split('\n')[0]}); run npm install`;
    }
  })());

/** Switches TensorFlow.js to `kind`; a string says why it is unavailable. */
export const useTf = async (kind: TfKind): Promise<{ tf: Tf; description: string } | string> => {
  const tf = await loadTf();
  if (typeof tf === 'string') return tf;
  if (!(await tf.setBackend(kind))) return `TensorFlow.js could not start its ${kind} backend`;
  await tf.ready();
  const env = tf.env();
  const description =
    kind === 'wasm'
      ? `TensorFlow.js ${tf.version.tfjs} WASM backend (SIMD ${env.getBool('WASM_HAS_SIMD_SUPPORT') ? 'on' : 'off'}, threads ${env.getBool('WASM_HAS_MULTITHREAD_SUPPORT') ? 'available' : 'unavailable in Node: 1 thread'})`
      : `TensorFlow.js ${tf.version.tfjs} pure-JS CPU backend`;
  return { tf, description };
};

/** The [out, in] row-major matrix as [in, out]. */
const transposed = (w: Float32Array, rows: number, cols: number): Float32Array => {
  const t = new Float32Array(w.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = w[i * cols + j]!;
  return t;
};

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

/**
 * GFLOP/s of the backend in use for the products of a batch-128 step of 784-1000-10 (the forward one, and
 * the transposed ones its gradients need), median of `rounds` calls each.
 */
export const matMulRates = (tf: Tf, rounds = 20): { readonly label: string; readonly gflops: number }[] => {
  const shapes: { label: string; a: [number, number]; b: [number, number]; ta: boolean; tb: boolean }[] = [
    { label: 'x @ W1 (128x784 @ 784x1000)', a: [128, 784], b: [784, 1000], ta: false, tb: false },
    { label: 'x^T @ dZ (784x128 @ 128x1000, transposeA)', a: [128, 784], b: [128, 1000], ta: true, tb: false },
    { label: 'x @ W^T (128x784 @ 784x1000, transposeB)', a: [128, 784], b: [1000, 784], ta: false, tb: true },
  ];
  return shapes.map(({ label, a, b, ta, tb }) => {
    const x = tf.randomUniform(a, -1, 1, 'float32', 1);
    const y = tf.randomUniform(b, -1, 1, 'float32', 2);
    const once = () => {
      const t = performance.now();
      const c = tf.matMul(x, y, ta, tb);
      c.dataSync();
      c.dispose();
      return performance.now() - t;
    };
    for (let i = 0; i < 3; i++) once();
    const ms = Array.from({ length: rounds }, once).sort((p, q) => p - q)[Math.floor(rounds / 2)]!;
    x.dispose();
    y.dispose();
    return { label, gflops: (2 * 128 * 784 * 1000) / (ms * 1e6) };
  });
};
