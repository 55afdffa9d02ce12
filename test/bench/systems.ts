/**
 * The systems the training benchmark compares, each able to run a `Job`: gradpipe's backends (ts, wasm and
 * native on 1 and all threads; native again on each other GEMM library its addon linked, e.g.
 * `native-openblas-2` beside oneDNN's `native-2`), TensorFlow.js (WASM and CPU backends), jax-js (wasm
 * device, jit(valueAndGrad)) and numpy (1 and all threads). What
 * cannot start here is listed in `skipped` with the reason.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Dataset } from '../../src/data/dataset.js';
import type { Backend } from '../../src/tensor/backend.js';
import { loadAddon } from '../../src/tensor/native/addon.js';
import { createNativeBackend } from '../../src/tensor/native/index.js';
import { createTsBackend } from '../../src/tensor/ts.js';
import { createWasmBackend } from '../../src/tensor/wasm/index.js';
import { collectBatches, flatten, initialNetwork, type Job, type Measurement } from './common.js';
import { runGradpipe } from './gradpipe.js';
import type { Machine } from './machine.js';
import { numpyInputs, numpyVersion, runNumpy, type NumpyInputs } from './numpy.js';
import { runJax, useJax } from './jaxjs.js';
import { runTf, useTf } from './tfjs.js';

export type Family = 'gradpipe' | 'tfjs' | 'jaxjs' | 'numpy';

export interface System {
  /** `ts`, `wasm-2`, `tfjs-cpu`, `numpy-1`, ... */
  readonly id: string;
  readonly family: Family;
  /** Short name for tables; `description` says exactly what ran. */
  readonly label: string;
  readonly description: string;
  readonly threads: number;
  /** Runs on the small sample counts (slow systems). */
  readonly small: boolean;
  readonly run: (job: Job, ctx: JobContext) => Promise<Measurement>;
  /** gradpipe's systems: the backend they run on (to profile it). */
  readonly backend?: Backend;
}

/** What the systems share for one job: the data, and the job's batches materialised once when needed. */
export interface JobContext {
  readonly train: Dataset;
  readonly batches: () => ReturnType<typeof collectBatches>;
  readonly numpy: () => Promise<NumpyInputs>;
}

export interface Systems {
  readonly systems: readonly System[];
  /** gradpipe's backends, to profile and to dispose. */
  readonly backends: readonly Backend[];
  readonly skipped: readonly string[];
}

/** Starts every system that can run here, on 1 thread and on all `machine.cores`. */
export const startSystems = async (machine: Machine): Promise<Systems> => {
  const cores = machine.cores;
  const threadCounts = [...new Set([1, cores])];
  const skipped: string[] = [];
  const backends: Backend[] = [];
  const out: System[] = [];

  const add = (id: string, b: Backend, small = false, variant = '') => {
    backends.push(b);
    const label = b.name === 'ts' ? 'gradpipe ts' : `gradpipe ${b.name}${variant}, ${b.threads} thread${b.threads === 1 ? '' : 's'}`;
    out.push({ id, family: 'gradpipe', label, description: b.description, threads: b.threads, small, run: (job, ctx) => runGradpipe(b, ctx.train, job), backend: b });
  };
  add('ts', createTsBackend(), true);
  for (const t of threadCounts) {
    const w = await createWasmBackend({ threads: t });
    if (E.isRight(w)) add(`wasm-${t}`, w.right);
    else skipped.push(`gradpipe wasm ${t} thread(s): ${w.left.message}`);
  }
  for (const t of threadCounts) {
    const n = createNativeBackend({ threads: t });
    if (E.isRight(n)) add(`native-${t}`, n.right);
    else skipped.push(`gradpipe native ${t} thread(s): ${n.left.message}`);
  }
  const loaded = loadAddon();
  for (const lib of E.isRight(loaded) ? loaded.right.addon.gemmLibraries().slice(1) : []) {
    for (const t of threadCounts) {
      const n = createNativeBackend({ threads: t, gemmLibrary: lib });
      if (E.isRight(n)) add(`native-${lib}-${t}`, n.right, false, ` (${lib})`);
      else skipped.push(`gradpipe native on ${lib}, ${t} thread(s): ${n.left.message}`);
    }
  }

  for (const kind of ['wasm', 'cpu'] as const) {
    const probe = await useTf(kind);
    if (typeof probe === 'string') {
      skipped.push(`TensorFlow.js ${kind}: ${probe}`);
      continue;
    }
    out.push({
      id: `tfjs-${kind}`,
      family: 'tfjs',
      label: kind === 'wasm' ? 'TF.js WASM' : 'TF.js CPU',
      description: probe.description,
      threads: 1,
      small: kind === 'cpu',
      run: async (job, ctx) => {
        const tf = await useTf(kind);
        if (typeof tf === 'string') throw new Error(tf);
        return runTf(tf.tf, flatten(initialNetwork(job.hidden)), await ctx.batches(), job);
      },
    });
  }

  const jax = await useJax();
  if (typeof jax === 'string') skipped.push(`jax-js: ${jax}`);
  else {
    out.push({
      id: 'jaxjs-wasm',
      family: 'jaxjs',
      label: 'jax-js wasm',
      description: jax.description,
      threads: 1,
      small: false,
      run: async (job, ctx) => runJax(jax.jax, flatten(initialNetwork(job.hidden)), await ctx.batches(), job),
    });
  }

  const v = numpyVersion();
  if ('skipped' in v) skipped.push(`numpy: ${v.skipped}`);
  else {
    for (const t of threadCounts) {
      out.push({
        id: `numpy-${t}`,
        family: 'numpy',
        label: `numpy, ${t} thread${t === 1 ? '' : 's'}`,
        description: `numpy ${machine.numpy}, ${t === cores ? `OpenBLAS's default threads (${cores})` : `OPENBLAS_NUM_THREADS=${t}`}`,
        threads: t,
        small: false,
        run: async (job, ctx) => runNumpy(await ctx.numpy(), job, t === cores ? undefined : t),
      });
    }
  }
  return { systems: out, backends, skipped };
};

/** The job context, materialising TensorFlow.js's batches and numpy's inputs only when asked. */
export const contextFor = (train: Dataset, job: Job): JobContext & { dispose(): void } => {
  let b: ReturnType<typeof collectBatches> | undefined;
  let n: Promise<NumpyInputs> | undefined;
  const batchesOf = () => (b ??= collectBatches(train, job));
  return {
    train,
    batches: batchesOf,
    numpy: () => (n ??= batchesOf().then((bs) => numpyInputs(flatten(initialNetwork(job.hidden)), bs))),
    dispose: () => void n?.then((x) => x.dispose()),
  };
};
