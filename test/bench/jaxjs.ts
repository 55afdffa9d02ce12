/**
 * jax-js's side of the training benchmark: the same 784-H-10 network from the same initial weights, on the
 * same batches, written the way jax-js is meant to be used: the loss (ReLU hidden layer, log-softmax
 * cross-entropy on the logits) differentiated by `valueAndGrad`, the SGD step inside `jit`, on jax-js's
 * `wasm` device in Node. The loss is read back every step, as gradpipe and TensorFlow.js do.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { LabeledBatch } from '../../src/stages/batch.js';
import { LR, mean, type Job, type Measurement } from './common.js';

type Jax = typeof import('@jax-js/jax');

let loaded: Promise<Jax | string> | undefined;

/** jax-js with its wasm device started and made the default, or why it cannot be. */
export const useJax = (): Promise<{ jax: Jax; description: string } | string> =>
  (loaded ??= (async () => {
    try {
      const jax = await import('@jax-js/jax');
      const started = await jax.init('wasm');
      if (!started.includes('wasm')) return `jax-js could not start its wasm device (started: ${started.join(', ') || 'none'})`;
      jax.defaultDevice('wasm');
      return jax;
    } catch (e) {
      return `jax-js is not installed or does not start (${(e as Error).message.split('\n')[0]}); run npm install`;
    }
  })()).then((jax) => (typeof jax === 'string' ? jax : { jax, description: `jax-js ${version()} wasm device, jit(valueAndGrad) SGD step` }));

/** The installed version (its package.json is not exported, so read beside the resolved entry point). */
const version = (): string => {
  const main = createRequire(import.meta.url).resolve('@jax-js/jax');
  return (JSON.parse(readFileSync(join(dirname(main), '..', 'package.json'), 'utf8')) as { version: string }).version;
};

/** The [out, in] row-major matrix as [in, out]. */
const transposed = (w: Float32Array, rows: number, cols: number): Float32Array => {
  const t = new Float32Array(w.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = w[i * cols + j]!;
  return t;
};

/** Trains from `initial` (flat, see common.flatten) on `batches`; times after the warm-up. */
export const runJax = async (jax: Jax, initial: Float32Array, batches: readonly LabeledBatch[], job: Job): Promise<Measurement> => {
  const { numpy: np, nn, jit, valueAndGrad } = jax;
  type Arr = InstanceType<typeof jax.Array>;
  type Params = { w1: Arr; b1: Arr; w2: Arr; b2: Arr };
  const h = job.hidden;
  const at = [0, h * 784, h * 784 + h, h * 784 + h + 10 * h, h * 784 + h + 10 * h + 10];
  const slice = (i: number) => initial.slice(at[i]!, at[i + 1]!);
  let params: Params = {
    w1: np.array(transposed(slice(0), h, 784)).reshape([784, h]),
    b1: np.array(slice(1)),
    w2: np.array(transposed(slice(2), 10, h)).reshape([h, 10]),
    b2: np.array(slice(3)),
  };
  // jax-js counts references: every argument is consumed, so a value used twice is passed as `.ref` first.
  const loss = (p: Params, x: Arr, y: Arr): Arr => {
    const hidden = nn.relu(np.matmul(x, p.w1).add(p.b1));
    const logits = np.matmul(hidden, p.w2).add(p.b2);
    return nn.logSoftmax(logits, -1).mul(y).sum().mul(-1 / job.batch);
  };
  const step = jit((p: Params, x: Arr, y: Arr) => {
    const [value, g] = valueAndGrad(loss)({ w1: p.w1.ref, b1: p.b1.ref, w2: p.w2.ref, b2: p.b2.ref }, x, y);
    const next: Params = {
      w1: p.w1.sub(g.w1.mul(LR)),
      b1: p.b1.sub(g.b1.mul(LR)),
      w2: p.w2.sub(g.w2.mul(LR)),
      b2: p.b2.sub(g.b2.mul(LR)),
    };
    return [value, next] as [Arr, Params];
  });
  const warmSteps = job.warmup / job.batch;
  const losses: number[] = [];
  let t0 = performance.now();
  try {
    for (const [s, b] of batches.entries()) {
      if (s === warmSteps) t0 = performance.now();
      const x = np.array(b.inputs.data).reshape([b.inputs.rows, 784]);
      const y = np.array(b.targets.data).reshape([b.targets.rows, 10]);
      const [value, next] = step(params, x, y);
      params = next;
      losses.push((await value.data())[0]!);
    }
    const seconds = (performance.now() - t0) / 1000;
    const back = async (a: Arr, rows: number, cols: number) => transposed((await a.ref.data()) as Float32Array, cols, rows);
    const weights = new Float32Array(at[4]!);
    weights.set(await back(params.w1, h, 784), at[0]);
    weights.set((await params.b1.ref.data()) as Float32Array, at[1]);
    weights.set(await back(params.w2, 10, h), at[2]);
    weights.set((await params.b2.ref.data()) as Float32Array, at[3]);
    return { seconds, samples: (batches.length - warmSteps) * job.batch, tailLoss: mean(losses.slice(-10)), weights };
  } finally {
    for (const a of Object.values(params)) a.dispose();
    step.dispose();
  }
};
