/**
 * The page's training Worker: fetches MNIST from the server (/data/), starts the wasm backend on
 * navigator.hardwareConcurrency threads (kernel sub-workers), and runs `trainMnist`, the pipeline the CLI
 * runs, with the options the page sends. Steps and epochs are posted as they come; Stop is a flag polled
 * after every step, the stop checkpoint kept in memory for Resume. At the end it posts the summary and the
 * model's bytes (`encodeModel` with the CLI's metadata: the same model.safetensors as `gradpipe train`).
 */
import * as E from 'fp-ts/lib/Either.js';
import { fetchMnist } from '../../src/data/fetchMnist.js';
import type { Dataset } from '../../src/data/layout.js';
import { divergenceReport } from '../../src/diagnostics/divergenceReport.js';
import { formatError } from '../../src/errors.js';
import type { Checkpoint } from '../../src/io/checkpoint.js';
import { encodeModel } from '../../src/io/modelCodec.js';
import { batchesPerEpoch } from '../../src/stages/epochs.js';
import { backendChosen, getBackend, setBackend } from '../../src/tensor/registry.js';
import { resolveBackend, type BackendChoice } from '../../src/tensor/select.js';
import { optionsRecord } from '../../src/cli/options.js';
import { modelMetadata, runFigures, trainMnist, type TrainOptions } from '../mnist.js';
import type { FromWorker, ToWorker } from './protocol.js';

/** gradpipe's version, put in by the bundler (build.mjs): the model's metadata records it, as the CLI's does. */
declare const GRADPIPE_VERSION: string;

const scope = globalThis as unknown as {
  postMessage(m: FromWorker, transfer?: ArrayBuffer[]): void;
  addEventListener(type: 'message', f: (e: { data: ToWorker }) => void): void;
  location: { href: string };
  navigator: { userAgent: string };
};
const post = (m: FromWorker, transfer: ArrayBuffer[] = []): void => scope.postMessage(m, transfer);

/** The CLI's reporting interval: a step event every 10 steps from 100 batches an epoch, else every step. */
const stepEvery = (perEpoch: number): number => (perEpoch >= 100 ? 10 : 1);

let data: { train: Dataset<Uint8Array>; test: Dataset<Uint8Array> } | undefined;
let why = '';
let run: { options: TrainOptions; backend: BackendChoice; threads: number | undefined; checkpoint: Checkpoint | undefined; stoppedAt: number | undefined; resumedFrom: number | undefined; t0: number } | undefined;

const train = async (stop: SharedArrayBuffer, resume: Checkpoint | undefined): Promise<void> => {
  const r = run!;
  const flag = new Int32Array(stop);
  if (data === undefined) {
    post({ kind: 'status', text: 'fetching MNIST…' });
    const got = await fetchMnist(new URL('/data/', scope.location.href), { classes: r.options.layers[r.options.layers.length - 1]! });
    if (E.isLeft(got)) return post({ kind: 'error', message: formatError(got.left) });
    data = got.right;
  }
  if (!backendChosen()) {
    // as `gradpipe train --backend B --threads N` does (auto: the fastest here, wasm on all cores)
    const chosen = await resolveBackend(r.backend, r.threads);
    if (E.isLeft(chosen)) return post({ kind: 'error', message: formatError(chosen.left) });
    setBackend(chosen.right.backend);
    why = chosen.right.why;
  }
  post({ kind: 'status', text: `training on ${getBackend().description}` });
  const trainCount = Math.min(data.train.count, r.options.trainLimit ?? Infinity) - r.options.validation;
  const perEpoch = batchesPerEpoch(trainCount, r.options.batchSize);
  const totalSteps = perEpoch * r.options.epochs;
  const STOPPED = 'stopped in the page';
  const result = await trainMnist(
    data,
    // batches are assembled here, between steps: the batch workers' module is not part of the page's bundle
    { ...r.options, batchWorkers: 0 },
    {
      stepEvery: stepEvery(perEpoch),
      onStep: (event) => post({ kind: 'step', event, totalSteps }),
      onEpoch: (event) => post({ kind: 'epoch', event }),
      shouldStop: () => (Atomics.load(flag, 0) === 1 ? STOPPED : undefined),
      saveCheckpoint: async (c) => {
        r.checkpoint = c;
        return E.right(undefined);
      },
    },
    resume,
  );
  if (E.isLeft(result)) return post({ kind: 'error', message: formatError(result.left) });
  const res = result.right;
  const s = res.state;
  if (res.stoppedBecause === STOPPED && !res.diverged) {
    r.stoppedAt = s.step;
    return post({ kind: 'stopped', step: s.step });
  }
  const backend = getBackend();
  const summary = {
    ...runFigures(res),
    wallSeconds: (performance.now() - r.t0) / 1000,
    trainSeconds: res.trainSeconds,
    stoppedBecause: res.stoppedBecause,
    diverged: res.diverged,
    backend: res.backend,
    backendDescription: backend.description,
    backendChoice: why,
    threads: backend.threads,
    seed: r.options.seed,
    data: '/data/',
    resumedFrom: r.resumedFrom ?? null,
    options: optionsRecord(r.options),
    config: r.options,
    confusion: res.test.confusion,
    gradpipe: GRADPIPE_VERSION,
    browser: scope.navigator.userAgent,
  };
  if (s.divergence) return post({ kind: 'diverged', summary, report: divergenceReport(s.divergence, undefined, 'the curves of this page') });
  const model = encodeModel(res.network, { loss: r.options.loss, extra: modelMetadata(r.options, GRADPIPE_VERSION) });
  post({ kind: 'done', summary, model, confusion: res.test.confusion }, [model.buffer as ArrayBuffer]);
};

scope.addEventListener('message', ({ data: msg }) => {
  const go = (p: Promise<void>): void =>
    void p.catch((e: unknown) => post({ kind: 'error', message: `gradpipe: internal error: ${e instanceof Error ? e.message : String(e)}` }));
  if (msg.kind === 'start') {
    run = { options: msg.options, backend: msg.backend, threads: msg.threads, checkpoint: undefined, stoppedAt: undefined, resumedFrom: undefined, t0: performance.now() };
    go(train(msg.stop, undefined));
  } else if (run?.checkpoint !== undefined) {
    run.resumedFrom = run.stoppedAt;
    go(train(msg.stop, run.checkpoint));
  }
});
