/**
 * jax-js's training loop for the browser bench (node-free; jax-js also runs it in Node with `init('wasm')`):
 * the same 784-H-10 network from the same initial weights, on the same batches (gradpipe's, wrapped as
 * arrays), one `jit(valueAndGrad)` step as its MNIST demo trains: the hidden layer `relu(x @ W1 + b1)`,
 * softmax cross-entropy from `nn.logSoftmax` of the logits (the batch mean), and the SGD update inside the
 * same jitted function. The loss is read after every step, as gradpipe's pipeline and TensorFlow.js's loop
 * read theirs. Arrays follow jax-js's ownership rules: an argument is consumed, `.ref` keeps a second use.
 */
import { jit, nn, numpy as np, valueAndGrad } from '@jax-js/jax';
import type { LabeledBatch } from '../../src/stages/batch.js';
import { LR, mean, transposed, type Job, type Measurement } from './job.js';

type Params = [np.Array, np.Array, np.Array, np.Array];

/** Trains from `initial` (flat, see job.flatten) on `batches` on jax-js's default device; times after the warm-up. */
export const runJax = async (initial: Float32Array, batches: readonly LabeledBatch[], job: Job): Promise<Measurement> => {
  const h = job.hidden;
  const at = [0, h * 784, h * 784 + h, h * 784 + h + 10 * h, h * 784 + h + 10 * h + 10];
  const slice = (i: number) => initial.slice(at[i]!, at[i + 1]!);
  const lossOf = (p: Params, x: np.Array, y: np.Array): np.Array => {
    const [w1, b1, w2, b2] = p;
    const hidden = nn.relu(np.matmul(x, w1).add(b1));
    const logits = np.matmul(hidden, w2).add(b2);
    return np.sum(nn.logSoftmax(logits, -1).mul(y)).mul(-1 / job.batch);
  };
  const step = jit((p: Params, x: np.Array, y: np.Array): [np.Array, Params] => {
    const [loss, g] = valueAndGrad(lossOf)(p.map((a) => a.ref) as Params, x, y) as [np.Array, Params];
    return [loss, p.map((a, i) => a.sub(g[i]!.mul(LR))) as Params];
  });
  let params: Params = [
    np.array(transposed(slice(0), h, 784), { shape: [784, h] }),
    np.array(slice(1), { shape: [h] }),
    np.array(transposed(slice(2), 10, h), { shape: [h, 10] }),
    np.array(slice(3), { shape: [10] }),
  ];
  const warmSteps = job.warmup / job.batch;
  const losses: number[] = [];
  let t0 = performance.now();
  try {
    for (let s = 0; s < batches.length; s++) {
      if (s === warmSteps) t0 = performance.now();
      const b = batches[s]!;
      const x = np.array(b.inputs.data, { shape: [b.inputs.rows, 784] });
      const y = np.array(b.targets.data, { shape: [b.targets.rows, 10] });
      const [loss, next] = step(params, x, y);
      params = next;
      losses.push((await loss.data())[0]!);
    }
    const seconds = (performance.now() - t0) / 1000;
    // back to gradpipe's layout, to check that the same work was done
    const [w1, b1, w2, b2] = await Promise.all(params.map(async (a) => new Float32Array(await a.ref.data())));
    const weights = new Float32Array(at[4]!);
    weights.set(transposed(w1!, 784, h), at[0]);
    weights.set(b1!, at[1]);
    weights.set(transposed(w2!, h, 10), at[2]);
    weights.set(b2!, at[3]);
    return { seconds, samples: (batches.length - warmSteps) * job.batch, tailLoss: mean(losses.slice(-10)), weights };
  } finally {
    for (const a of params) a.dispose();
    step.dispose();
  }
};
