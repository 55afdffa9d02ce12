/**
 * Checkpoints of a training run: the conversion between a training state and a checkpoint, and the
 * checkpoint stage that decides which states are saved and hands them to a writer.
 *
 * A checkpoint holds everything a run needs to continue bit-identically: the network, the optimiser's
 * moments, the validation record with its best network, the counters that fix where the seeded data order
 * resumes (see `resumePoint`), and the caller's configuration.
 *
 * The checkpoint stage decides once per state, when the state arrives: a state is saved when it ends an
 * epoch or ends the run (it carries a stop reason). It takes a `snapshot` of that state at once, before
 * anything asynchronous, so a step that reuses buffers cannot change what is written; the writer writes
 * them one at a time, in order (at most one per epoch and one at the stop: never one write per step).
 */
import * as E from 'fp-ts/lib/Either.js';
import { modelError, type GradpipeError } from '../errors.js';
import type { Checkpoint, F32Tensor } from '../io/checkpoint.js';
import { networkFromTensors } from '../io/model.js';
import type { Gradient } from '../nn/gradient.js';
import type { Network } from '../nn/network.js';
import { matrix } from '../tensor/matrix.js';
import { snapshot, type StateView, type TrainState } from '../optim/trainState.js';
import type { Stage } from './stage.js';
import type { Stopped } from './stopWhen.js';
import type { ValidationState } from './validate.js';

/** A training state as a checkpoint holds it: a value, with the validation record when there is one. */
export type Saved = TrainState & { readonly validation?: ValidationState | undefined };

const networkTensors = (prefix: string, net: Network): [string, F32Tensor][] =>
  net.layers.flatMap((l, i) => [
    [`${prefix}layers.${i}.weight`, { shape: [l.weight.rows, l.weight.cols], data: l.weight.data }],
    [`${prefix}layers.${i}.bias`, { shape: [l.weight.rows], data: l.bias }],
  ]);

const gradientTensors = (prefix: string, g: Gradient | undefined): [string, F32Tensor][] =>
  g === undefined
    ? []
    : g.layers.flatMap((l, i) => [
        [`${prefix}.${i}.weight`, { shape: [l.weight.rows, l.weight.cols], data: l.weight.data }],
        [`${prefix}.${i}.bias`, { shape: [l.weight.rows], data: l.bias }],
      ]);

/** The checkpoint of a state; `config` is any JSON value the caller needs to resume (its options). */
export const toCheckpoint = (s: Saved, config: unknown): Checkpoint => {
  const { network, optimizer, validation, recent, divergence: _d, buffers: _b, ...counters } = s;
  const best = validation?.best;
  // validation keeps a copy of the best network: the one of this very step is the current one
  const bestIsCurrent = best !== undefined && (best.network === network || best.step === s.step);
  return {
    tensors: Object.fromEntries([
      ...networkTensors('', network),
      ...gradientTensors('opt.first', optimizer.first),
      ...gradientTensors('opt.second', optimizer.second),
      ...(best && !bestIsCurrent ? networkTensors('best.', best.network) : []),
    ]),
    state: {
      version: 1,
      activations: network.layers.map((l) => l.activation),
      counters,
      optimizerStep: optimizer.step,
      validation: validation && { ...validation, best: best && { ...best, network: bestIsCurrent ? 'current' : 'stored' } },
      recent,
      config,
    },
  };
};

interface Stored {
  readonly version: number;
  readonly activations: string[];
  /** The counters and findings (checkpoints of earlier versions have no findings). */
  readonly counters: Omit<TrainState, 'network' | 'optimizer' | 'recent' | 'divergence' | 'buffers' | 'findings'> & { readonly findings?: TrainState['findings'] };
  readonly optimizerStep: number;
  readonly validation?: Omit<ValidationState, 'best'> & { best: Omit<ValidationState['best'], 'network'> & { network: 'current' | 'stored' } };
  readonly recent: TrainState['recent'];
  readonly config: unknown;
}

const gradientFrom = (c: Checkpoint, prefix: string, like: Network): Gradient | undefined => {
  if (c.tensors[`${prefix}.0.weight`] === undefined) return undefined;
  return {
    layers: like.layers.map((l, i) => {
      const w = c.tensors[`${prefix}.${i}.weight`];
      const b = c.tensors[`${prefix}.${i}.bias`];
      if (!w || !b || w.data.length !== l.weight.data.length || b.data.length !== l.bias.length) {
        throw new RangeError(`${prefix}.${i} is missing or mis-shaped`);
      }
      return { weight: matrix(l.weight.rows, l.weight.cols, w.data), bias: b.data };
    }),
  };
};

/**
 * The state stored in a checkpoint read from `file`, its validation record, and the caller's configuration.
 *
 * Law: fromCheckpoint(toCheckpoint(s)) = s (for every field a resumed run depends on)
 */
export const fromCheckpoint = (c: Checkpoint, file: string): E.Either<GradpipeError, { state: TrainState; validation: ValidationState | undefined; config: unknown }> => {
  const bad = (what: string) => modelError(file, `is not a usable gradpipe checkpoint (${what})`, 'resume from another checkpoint or start a new run');
  const st = c.state as Stored;
  if (typeof st !== 'object' || st === null || st.version !== 1 || !Array.isArray(st.activations)) return E.left(bad('unknown state layout'));
  const tensors = Object.fromEntries(Object.entries(c.tensors).map(([k, t]) => [k, { dtype: 'F32' as const, shape: t.shape, data: t.data }]));
  const network = networkFromTensors(tensors, st.activations, file);
  if (E.isLeft(network)) return network;
  const net = network.right;
  try {
    const first = gradientFrom(c, 'opt.first', net);
    const second = gradientFrom(c, 'opt.second', net);
    let validation: ValidationState | undefined;
    if (st.validation) {
      const bestNet =
        st.validation.best.network === 'current'
          ? net
          : (() => {
              const pref = Object.fromEntries(
                Object.entries(tensors)
                  .filter(([k]) => k.startsWith('best.'))
                  .map(([k, t]) => [k.slice('best.'.length), t]),
              );
              const b = networkFromTensors(pref, st.activations, file);
              if (E.isLeft(b)) throw new RangeError(b.left.message);
              return b.right;
            })();
      validation = { ...st.validation, best: { ...st.validation.best, network: bestNet } };
    }
    const { warnings: _old, findings, ...counters } = st.counters as Stored['counters'] & { warnings?: unknown };
    const state: TrainState = {
      ...counters,
      buffers: 'owned',
      network: net,
      optimizer: { step: st.optimizerStep, first, second },
      recent: st.recent,
      findings: findings ?? [],
      divergence: undefined,
    };
    return E.right({ state, validation, config: st.config });
  } catch (e) {
    return E.left(bad(e instanceof Error ? e.message : String(e)));
  }
};

/** Writes checkpoints one at a time, in the background of a run (see `checkpointWriter`). */
export interface CheckpointWriter {
  /** Queues the checkpoint of `s` (a value): written after those submitted before it. */
  readonly submit: (s: Saved) => void;
  /** Resolves once everything submitted so far is written (or has failed): the first error, or how many were written. */
  readonly settled: () => Promise<E.Either<GradpipeError, number>>;
}

/** What a checkpoint writer does with a checkpoint, and what it runs before each write. */
export interface WriterOptions {
  /** Writes one checkpoint (e.g. `saveCheckpoint(dir, c)`). */
  readonly save: (c: Checkpoint) => Promise<E.Either<GradpipeError, void>>;
  /** The caller's JSON configuration, stored in every checkpoint. */
  readonly config: unknown;
  /** Runs before each write (e.g. flushing the metrics the checkpoint covers). */
  readonly before?: (() => Promise<void>) | undefined;
  /** Called once for each failed write (training goes on). */
  readonly onError?: ((e: GradpipeError) => void) | undefined;
}

/** A writer that saves the checkpoints submitted to it one at a time, in the order they came. */
export const checkpointWriter = (opts: WriterOptions): CheckpointWriter => {
  const waiting: Checkpoint[] = [];
  let running: Promise<void> | undefined;
  let firstError: GradpipeError | undefined;
  let written = 0;
  const drain = async (): Promise<void> => {
    for (let c = waiting.shift(); c !== undefined; c = waiting.shift()) {
      await opts.before?.();
      const saved = await opts.save(c);
      if (E.isLeft(saved)) {
        firstError ??= saved.left;
        opts.onError?.(saved.left);
      } else written++;
    }
    running = undefined;
  };
  return {
    submit: (s) => {
      waiting.push(toCheckpoint(s, opts.config));
      running ??= drain();
    },
    settled: async () => {
      while (running !== undefined) await running;
      return firstError === undefined ? E.right(written) : E.left(firstError);
    },
  };
};

/**
 * The checkpoint stage: passes every item on unchanged and submits a snapshot of each state that ends an
 * epoch or the run to `writer`, deciding once, when the state arrives.
 *
 * Laws:
 * - checkpoint is the identity on the stream: it emits every item it receives, unchanged and in order
 * - it submits exactly the states that end an epoch or carry a stop reason, each once, as snapshots taken when they arrive
 */
export const checkpoint = <S extends StateView & { readonly validation?: ValidationState | undefined }>(writer: CheckpointWriter): Stage<Stopped<S>, Stopped<S>, undefined> => ({
  init: () => undefined,
  step: (st, item) => {
    if (item.state.endOfEpoch || item.reason !== undefined) writer.submit(snapshot(item.state));
    return { state: st, out: [item], done: false };
  },
  flush: () => [],
});
