/**
 * The browser bench's Worker: one run of one system on the job's batches, in the same headless Chromium as
 * the others. The batches are gradpipe's (`epochBatches` over the first warmup + samples training images,
 * fetched from `gradpipe serve`'s /data/ as the page fetches them); every system starts from the same He
 * initialisation. Answers samples/s figures' parts, the tail loss and a digest of the trained weights.
 */
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { init } from '@jax-js/jax';
import * as E from 'fp-ts/lib/Either.js';
import { fetchMnist } from '../../../src/data/fetchMnist.js';
import { formatError } from '../../../src/errors.js';
import { resolveBackend } from '../../../src/tensor/select.js';
import { runGradpipe } from '../gradpipe.js';
import { runJax } from '../jaxStep.js';
import { collectBatches, flatten, initialNetwork, type Measurement } from '../job.js';
import { runTf } from '../tfjsStep.js';
import type { BenchAnswer, BenchRequest } from './protocol.js';

const hex = async (w: Float32Array): Promise<string> =>
  Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', new Uint8Array(new Float32Array(w).buffer))).slice(0, 6), (b) => b.toString(16).padStart(2, '0')).join('');

const measure = async ({ system, job }: BenchRequest): Promise<BenchAnswer> => {
  const data = await fetchMnist(new URL('/data/', location.href));
  if (E.isLeft(data)) return { ok: false, message: formatError(data.left) };
  const train = data.right.train;
  const cores = navigator.hardwareConcurrency;
  let run: { m: Measurement; description: string };
  if (system === 'gradpipe') {
    const chosen = await resolveBackend('wasm', undefined);
    if (E.isLeft(chosen)) return { ok: false, message: formatError(chosen.left) };
    const backend = chosen.right.backend;
    // the backend's description ends with the URL of its wasm build (a port that changes every run)
    run = { m: await runGradpipe(backend, train, job), description: `gradpipe ${backend.description.replace(/ \(https?:[^)]*\)$/, '')}` };
  } else if (system === 'jax') {
    await init('wasm');
    const batches = await collectBatches(train, job);
    run = { m: await runJax(flatten(initialNetwork(job.hidden)), batches, job), description: `jax-js wasm device (its worker pool: ${cores} workers)` };
  } else {
    setWasmPaths('/app/');
    if (system === 'tfjs-all') setThreadsCount(cores);
    if (!(await tf.setBackend('wasm'))) return { ok: false, message: 'TensorFlow.js could not start its wasm backend' };
    await tf.ready();
    const env = tf.env();
    const threads = env.getBool('WASM_HAS_MULTITHREAD_SUPPORT') ? `${getThreadsCount()} thread${getThreadsCount() === 1 ? '' : 's'}` : '1 thread';
    const batches = await collectBatches(train, job);
    run = {
      m: runTf(tf, flatten(initialNetwork(job.hidden)), batches, job),
      description: `TensorFlow.js ${tf.version.tfjs} wasm (SIMD ${env.getBool('WASM_HAS_SIMD_SUPPORT') ? 'on' : 'off'}, ${threads}${system === 'tfjs-all' ? ', setThreadsCount' : ''})`,
    };
  }
  const { seconds, samples, tailLoss, weights } = run.m;
  return { ok: true, description: run.description, seconds, samples, tailLoss, digest: await hex(weights) };
};

addEventListener('message', (e: MessageEvent<BenchRequest>) => {
  measure(e.data).then(
    (a) => postMessage(a),
    (err: unknown) => postMessage({ ok: false, message: err instanceof Error ? `${err.message}\n${err.stack ?? ''}` : String(err) } satisfies BenchAnswer),
  );
});
