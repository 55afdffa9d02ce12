/**
 * Shuffling, always seeded. `permute(seed, epoch)` is an exact uniform permutation of everything it is
 * given (Fisher-Yates with a generator derived from the run seed and the epoch); `epochOrder` is the same
 * permutation as indices, for in-memory datasets. `shuffle(bufferSize, seed)` is the bounded-buffer shuffle
 * for streams that do not fit in memory (as tf.data's `shuffle(bufferSize, seed)`): it holds at most
 * `bufferSize` items, emitting a random one of them each time a new one arrives. Their laws are stated on
 * `shuffle` below.
 */
import { permutation, randomInt, rng } from '../nn/random.js';
import { emit, type Stage } from './stage.js';

/**
 * The order in which epoch `epoch` of a run seeded `seed` visits `n` items: a permutation of 0..n-1, the same
 * for the same (seed, epoch), a different one for each epoch.
 */
export const epochOrder = (seed: number, epoch: number, n: number): Uint32Array => permutation(rng(seed, 'shuffle', epoch), n);

/**
 * Collects its whole input and emits it in `epochOrder(seed, epoch, count)`.
 *
 * It obeys the laws stated on `shuffle` below, the buffer one aside (it holds its whole input).
 */
export const permute = <A>(seed: number, epoch: number): Stage<A, A, A[]> => ({
  init: () => [],
  step: (s, a) => {
    s.push(a);
    return emit(s);
  },
  flush: (s) => Array.from(epochOrder(seed, epoch, s.length), (i) => s[i]!),
});

/** The state of a bounded-buffer shuffle: the items held, and the generator that picks which to release. */
export interface ShuffleBuffer<A> {
  buf: A[];
  /** Uniform in [0, 1), seeded. */
  r: () => number;
}

/**
 * Bounded-buffer shuffle holding at most `bufferSize` items: once the buffer is full, each arrival releases a
 * random item of it; the rest are emitted, shuffled, when the input ends. These laws hold for `permute` too
 * (the buffer one aside), and are tested on both.
 *
 * Laws:
 * - the output is a permutation of the input
 * - same seed, same order
 * - different epochs give different orders (for more than a handful of items)
 * - a buffer of size 1 is the identity
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { runStage, shuffle } from 'gradpipe';
 *
 * const xs = Array.from({ length: 20 }, (_, i) => i);
 * const once = runStage(shuffle<number>(4, 42), xs);
 * assert.deepEqual([...once].sort((a, b) => a - b), xs); // a permutation of the input
 * assert.deepEqual(runStage(shuffle<number>(4, 42), xs), once); // same seed, same order
 * assert.notDeepEqual(runStage(shuffle<number>(4, 42, 1), xs), once); // another epoch, another order
 * assert.deepEqual(runStage(shuffle<number>(1, 42), xs), xs); // a buffer of size 1 is the identity
 * ```
 */
export const shuffle = <A>(bufferSize: number, seed: number, epoch = 0): Stage<A, A, ShuffleBuffer<A>> => {
  if (!Number.isInteger(bufferSize) || bufferSize < 1) throw new RangeError(`shuffle: buffer size must be a whole number >= 1, got ${bufferSize}`);
  return {
    init: () => ({ buf: [], r: rng(seed, 'buffer-shuffle', epoch) }),
    step: (s, a) => {
      s.buf.push(a);
      if (s.buf.length < bufferSize) return emit(s);
      // full: release a random item, moving the last one into its place
      const j = randomInt(s.r, bufferSize);
      const out = s.buf[j]!;
      s.buf[j] = s.buf[bufferSize - 1]!;
      s.buf.pop();
      return emit(s, [out]);
    },
    flush: (s) => Array.from(permutation(s.r, s.buf.length), (i) => s.buf[i]!),
  };
};
