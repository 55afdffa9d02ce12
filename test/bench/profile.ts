/**
 * Where a gradpipe training step spends its time (the `profile` part of the benchmark): the step's wall
 * time through the pipeline, the part inside the backend's kernels (timed by wrapping the backend), the
 * garbage collector's pauses (from `gc` performance entries), and the rest; then the pieces of that rest
 * timed one by one with the same functions the step calls, on the step's shapes.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import type { Dataset } from '../../src/data/dataset.js';
import { backprop } from '../../src/nn/grad.js';
import { lossFromLogits } from '../../src/nn/loss.js';
import { allocParams, initialState, move } from '../../src/optim/move.js';
import { sgdUpdate } from '../../src/optim/kernels.js';
import { toBatch } from '../../src/stages/batch.js';
import { epochOrder } from '../../src/stages/shuffle.js';
import { exampleAt } from '../../src/stages/read.js';
import type { Backend } from '../../src/tensor/backend.js';
import type { PointwiseActivation } from '../../src/tensor/kernels.js';
import { columnSumsInto } from '../../src/tensor/kernels.js';
import { createTsBackend } from '../../src/tensor/ts.js';
import { argmaxRows } from '../../src/tensor/matrix.js';
import { absRange, maxAbs, minAbsNonzero } from '../../src/tensor/reduce.js';
import { reusableWorkspace } from '../../src/tensor/workspace.js';
import { initialNetwork, median, SEED, type Job } from './common.js';
import { runGradpipe, SGD } from './gradpipe.js';

export interface StepProfile {
  readonly backend: string;
  readonly batch: number;
  /** Milliseconds per step. */
  readonly step: number;
  readonly kernels: Readonly<Record<KernelName, number>>;
  readonly gc: number;
  /** Step minus kernels minus GC pauses. */
  readonly rest: number;
  /** The pieces of the rest, timed alone (ms per call, median). */
  readonly pieces: readonly { readonly name: string; readonly ms: number }[];
}

/** `other`: the backend's batch-assembly and bias-gradient kernels (scaledGather, columnSums) where it has them. */
type KernelName = 'gemm' | 'biasActivation' | 'activationBackward' | 'optimizerUpdates' | 'other';

/** `f` with its time added to `acc[key]`. */
const clocked =
  <A extends unknown[], R>(acc: Record<KernelName, number>, key: KernelName, f: (...args: A) => R) =>
  (...args: A): R => {
    const t = performance.now();
    const r = f(...args);
    acc[key] += performance.now() - t;
    return r;
  };

/** The backend with every kernel call's time added to `acc` (milliseconds), its fused optimiser updates included. */
const timed = (b: Backend, acc: Record<KernelName, number>): Backend => ({
  ...(b.optimizerUpdates
    ? {
        optimizerUpdates: {
          sgd: clocked(acc, 'optimizerUpdates', b.optimizerUpdates.sgd),
          momentum: clocked(acc, 'optimizerUpdates', b.optimizerUpdates.momentum),
          adam: clocked(acc, 'optimizerUpdates', b.optimizerUpdates.adam),
        },
      }
    : {}),
  ...(b.alloc ? { alloc: (n: number) => b.alloc!(n) } : {}),
  name: b.name,
  threads: b.threads,
  description: b.description,
  gemm: (ta, tb, m, n, k, alpha, a, bb, beta, c) => {
    const t = performance.now();
    b.gemm(ta, tb, m, n, k, alpha, a, bb, beta, c);
    acc.gemm += performance.now() - t;
  },
  biasActivation: (z, bias, rows, cols, act, out) => {
    const t = performance.now();
    b.biasActivation(z, bias, rows, cols, act, out);
    acc.biasActivation += performance.now() - t;
  },
  ...(b.biasActivationRange
    ? {
        biasActivationRange: (z: Float32Array, bias: Float32Array, rows: number, cols: number, act: PointwiseActivation, out: Float32Array, range: Float64Array) => {
          const t = performance.now();
          b.biasActivationRange!(z, bias, rows, cols, act, out, range);
          acc.biasActivation += performance.now() - t;
        },
      }
    : {}),
  ...(b.columnSums ? { columnSums: clocked(acc, 'other', b.columnSums) } : {}),
  ...(b.scaledGather ? { scaledGather: clocked(acc, 'other', b.scaledGather) } : {}),
  activationBackward: (d, a, act, out) => {
    const t = performance.now();
    b.activationBackward(d, a, act, out);
    acc.activationBackward += performance.now() - t;
  },
  dispose: () => b.dispose(),
});

/** Median milliseconds of `f` over `n` calls after a few warm-up calls. */
const timeIt = (f: () => void, n = 30): number => {
  for (let i = 0; i < 5; i++) f();
  const t: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    f();
    t.push(performance.now() - s);
  }
  return median(t);
};

/** The step's non-kernel pieces on 784-`hidden`-10 at `batch`, timed alone on `backend`. */
const pieces = (backend: Backend, train: Dataset, job: Job): { name: string; ms: number }[] => {
  const net = initialNetwork(job.hidden);
  const order = epochOrder(SEED, 0, train.count);
  const examples = Array.from(order.subarray(0, job.batch), (i) => exampleAt(train, i));
  const b = toBatch(examples, 10);
  const bp = backprop('cross-entropy', net, b, backend, reusableWorkspace(backend.alloc?.bind(backend)));
  const step = move(SGD, backend);
  const tsStep = move(SGD, createTsBackend());
  const state = initialState(SGD, net);
  const w = net.layers[0]!.weight.data;
  const g = bp.gradient.layers[0]!.weight.data;
  const into = new Float32Array(w.length);
  // as in the training step: reused buffers where the backend's kernels work in place
  const reused = allocParams(SGD, net, backend.alloc?.bind(backend));
  // a copy: the workspace buffer is overwritten by the next step
  const hidden = bp.forward.outputs[0]!.data.slice();
  const range = new Float64Array(2);
  const sorted = hidden.slice().sort();
  return [
    { name: 'batch assembly (toBatch: uint8 -> float32, one-hot)', ms: timeIt(() => toBatch(examples, 10)) },
    {
      name: "optimiser step (move, sgd into reused buffers as the training step does: 795k parameters; the backend's fused update if it has one)",
      ms: timeIt(() => step(net, bp.gradient, state, SGD.lr, reused)),
    },
    { name: '  the same into new buffers (move without `into`)', ms: timeIt(() => step(net, bp.gradient, state, SGD.lr)) },
    { name: '  the same with the TypeScript loops (src/optim/kernels.ts)', ms: timeIt(() => tsStep(net, bp.gradient, state, SGD.lr, reused)) },
    { name: '  TypeScript sgdUpdate of W1 alone, into a reused buffer', ms: timeIt(() => sgdUpdate(w, g, 1, 0, SGD.lr, into)) },
    { name: '  allocating one zeroed W1-sized Float32Array (move without `into` allocates one per tensor)', ms: timeIt(() => new Float32Array(w.length)) },
    { name: 'activation scan (absRange over both layers, as the training step runs it)', ms: timeIt(() => bp.forward.outputs.forEach((o) => absRange(o.data, range))) },
    { name: '  maxAbs alone, of the hidden activations', ms: timeIt(() => maxAbs(hidden)) },
    { name: '  minAbsNonzero of the hidden activations (zeros where ReLU put them)', ms: timeIt(() => minAbsNonzero(hidden)) },
    { name: '  minAbsNonzero of the same values sorted (predictable branches)', ms: timeIt(() => minAbsNonzero(sorted)) },
    { name: 'loss and its delta from the logits (lossFromLogits)', ms: timeIt(() => lossFromLogits('cross-entropy', 'softmax', bp.forward.logits, b.targets)) },
    { name: 'hidden bias gradient (columnSumsInto, float64 accumulators, four rows per pass)', ms: timeIt(() => columnSumsInto(hidden, job.batch, job.hidden, new Float32Array(job.hidden))) },
    { name: 'accuracy count (argmaxRows)', ms: timeIt(() => argmaxRows(bp.lossResult.output)) },
  ];
};

/** Column by column, the median of several profiles of one backend and batch (the pieces: the first's). */
export const medianProfile = (runs: readonly StepProfile[]): StepProfile => {
  const med = (f: (p: StepProfile) => number): number => median(runs.map(f));
  const names: KernelName[] = ['gemm', 'biasActivation', 'activationBackward', 'optimizerUpdates', 'other'];
  return {
    backend: runs[0]!.backend,
    batch: runs[0]!.batch,
    step: med((p) => p.step),
    kernels: Object.fromEntries(names.map((n) => [n, med((p) => p.kernels[n])])) as Record<KernelName, number>,
    gc: med((p) => p.gc),
    rest: med((p) => p.rest),
    pieces: runs[0]!.pieces,
  };
};

/**
 * Profiles `backend` on `job`: one pipeline run with timed kernels and GC entries, then (with `withPieces`)
 * the pieces.
 */
export const profileStep = async (backend: Backend, train: Dataset, job: Job, withPieces = true): Promise<StepProfile> => {
  const acc = { gemm: 0, biasActivation: 0, activationBackward: 0, optimizerUpdates: 0, other: 0 };
  const gcs: { start: number; duration: number }[] = [];
  const obs = new PerformanceObserver((list) => list.getEntries().forEach((e) => gcs.push({ start: e.startTime, duration: e.duration })));
  obs.observe({ entryTypes: ['gc'] });
  let from = 0;
  const m = await runGradpipe(timed(backend, acc), train, job, () => {
    acc.gemm = acc.biasActivation = acc.activationBackward = acc.optimizerUpdates = acc.other = 0;
    from = performance.now();
  });
  await new Promise((r) => setImmediate(r));
  obs.disconnect();
  const steps = m.samples / job.batch;
  const per = (x: number) => x / steps;
  const gc = per(gcs.filter((g) => g.start >= from).reduce((s, g) => s + g.duration, 0));
  const step = per(m.seconds * 1000);
  const kernels = { gemm: per(acc.gemm), biasActivation: per(acc.biasActivation), activationBackward: per(acc.activationBackward), optimizerUpdates: per(acc.optimizerUpdates), other: per(acc.other) };
  return {
    backend: backend.description,
    batch: job.batch,
    step,
    kernels,
    gc,
    rest: step - kernels.gemm - kernels.biasActivation - kernels.activationBackward - kernels.optimizerUpdates - kernels.other - gc,
    pieces: withPieces ? pieces(backend, train, job) : [],
  };
};
