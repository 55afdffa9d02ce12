/**
 * Training state <-> checkpoint. A checkpoint holds everything a run needs to continue bit-identically:
 * the network, the optimiser's moments, the best validation network, the counters that fix where the seeded
 * data order resumes (epoch, batch within it), and the caller's configuration.
 *
 * Laws:
 * - fromCheckpoint(toCheckpoint(s)) = s (for every field a resumed run depends on)
 */
import * as E from 'fp-ts/lib/Either.js';
import { modelError, type GradpipeError } from '../errors.js';
import type { Checkpoint, F32Tensor } from '../io/checkpoint.js';
import { networkFromTensors } from '../io/model.js';
import type { Gradient } from '../nn/gradient.js';
import type { Network } from '../nn/network.js';
import { matrix } from '../tensor/matrix.js';
import type { TrainState } from './trainStep.js';

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
export const toCheckpoint = (s: TrainState, config: unknown): Checkpoint => {
  const { network, optimizer, validation, recent, divergence: _d, ...counters } = s;
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
  readonly counters: Omit<TrainState, 'network' | 'optimizer' | 'validation' | 'recent' | 'divergence'>;
  readonly optimizerStep: number;
  readonly validation?: Omit<NonNullable<TrainState['validation']>, 'best'> & { best: Omit<NonNullable<TrainState['validation']>['best'], 'network'> & { network: 'current' | 'stored' } };
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
 * The state stored in a checkpoint read from `file`, and the caller's configuration.
 *
 * Law: fromCheckpoint(toCheckpoint(s)) = s (for every field a resumed run depends on).
 */
export const fromCheckpoint = (c: Checkpoint, file: string): E.Either<GradpipeError, { state: TrainState; config: unknown }> => {
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
    let validation: TrainState['validation'];
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
    const state: TrainState = {
      ...st.counters,
      network: net,
      optimizer: { step: st.optimizerStep, first, second },
      recent: st.recent,
      divergence: undefined,
      validation,
    };
    return E.right({ state, config: st.config });
  } catch (e) {
    return E.left(bad(e instanceof Error ? e.message : String(e)));
  }
};
