/**
 * The stage model. A stage is a Mealy machine over a stream, written once as pure-looking step logic and
 * adapted to RxJS (`rx`, an `OperatorFunction`) and IxJS (`ix` over async iterables, `ixSync` over
 * iterables), so no stage exists as two hand-maintained copies.
 *
 * Running a stage, in every adapter:
 * 1. `init()` makes a fresh state for this run (so a step may update its own state in place);
 * 2. each input goes through `step`, whose outputs are emitted in order; `done` ends the stream at once
 *    (upstream is unsubscribed / its iterator returned);
 * 3. when the input ends, `flush` emits what the state still holds.
 *
 * The laws of composition (pipes' `>->`) are stated on `compose`, those of `map` on `map`, and each
 * adapter's on the adapter (each is a functor from stages to streams); test/laws/composition.test.ts checks
 * them for every adapter.
 */
import { concat, concatMap, defer, EMPTY, from, map as rxMap, takeWhile, type Observable, type OperatorFunction } from 'rxjs';
import { AsyncIterableX } from 'ix/asynciterable';
import { IterableX } from 'ix/iterable';
import { backendChosen, ready } from '../tensor/registry.js';

/** What one step of a stage returns. */
export interface StepResult<S, B> {
  readonly state: S;
  readonly out: readonly B[];
  /** True when the stage ends the stream after emitting `out`. */
  readonly done: boolean;
}

/** A stage: a Mealy machine over a stream, run the same way by `runStage`, `rx`, `ix` and `ixSync` (see below). */
export interface Stage<A, B, S = any> {
  /** Makes the state for one run (a fresh one each time, so that `step` may update it in place). */
  readonly init: () => S;
  /** Takes the state and one input; returns the next state, the outputs, and whether the stream ends here. */
  readonly step: (state: S, input: A) => StepResult<S, B>;
  /** The outputs still held in the state when the input ends. */
  readonly flush: (state: S) => readonly B[];
}

const NONE: readonly never[] = [];

/** A result that emits `out` and goes on. */
export const emit = <S, B>(state: S, out: readonly B[] = NONE): StepResult<S, B> => ({ state, out, done: false });

/** The identity stage (pipes' `cat`): the unit of `compose` (see its identity law). */
export const cat = <A>(): Stage<A, A, undefined> => ({
  init: () => undefined,
  step: (s, a) => emit(s, [a]),
  flush: () => NONE,
});

/**
 * map f: one output per input.
 *
 * Laws:
 * - map(id) = cat
 * - map(g . f) = compose(map(f), map(g))
 */
export const map = <A, B>(f: (a: A, index: number) => B): Stage<A, B, { i: number }> => ({
  init: () => ({ i: 0 }),
  step: (s, a) => emit(s, [f(a, s.i++)]),
  flush: () => NONE,
});

/**
 * Runs `p`, then `q` on its outputs (pipes' `>->`); ends when either ends, and flushes `p` into `q` before
 * flushing `q`.
 *
 * Laws:
 * - identity: compose(cat, p) = p = compose(p, cat)
 * - associativity: compose(compose(p, q), r) = compose(p, compose(q, r))
 */
export const compose = <A, B, C>(p: Stage<A, B>, q: Stage<B, C>): Stage<A, C, { p: unknown; q: unknown; qDone: boolean }> => {
  const feed = (s: { q: unknown; qDone: boolean }, bs: readonly B[], out: C[]): boolean => {
    for (const b of bs) {
      const r = q.step(s.q, b);
      s.q = r.state;
      out.push(...r.out);
      if (r.done) return (s.qDone = true);
    }
    return false;
  };
  return {
    init: () => ({ p: p.init(), q: q.init(), qDone: false }),
    step: (s, a) => {
      const r = p.step(s.p, a);
      s.p = r.state;
      const out: C[] = [];
      if (feed(s, r.out, out)) return { state: s, out, done: true };
      if (r.done) {
        out.push(...q.flush(s.q));
        s.qDone = true;
        return { state: s, out, done: true };
      }
      return emit(s, out);
    },
    flush: (s) => {
      if (s.qDone) return NONE;
      const out: C[] = [];
      if (feed(s, p.flush(s.p), out)) return out;
      out.push(...q.flush(s.q));
      return out;
    },
  };
};

/** Composes any number of stages left to right. */
export function pipeline<A, B>(p: Stage<A, B>): Stage<A, B>;
export function pipeline<A, B, C>(p: Stage<A, B>, q: Stage<B, C>): Stage<A, C>;
export function pipeline<A, B, C, D>(p: Stage<A, B>, q: Stage<B, C>, r: Stage<C, D>): Stage<A, D>;
export function pipeline<A, B, C, D, E>(p: Stage<A, B>, q: Stage<B, C>, r: Stage<C, D>, s: Stage<D, E>): Stage<A, E>;
export function pipeline(...stages: Stage<unknown, unknown>[]): Stage<unknown, unknown> {
  return stages.reduce((acc, s) => compose(acc, s));
}

/** The reference interpreter: runs a stage over an array. Every adapter agrees with it. */
export const runStage = <A, B>(stage: Stage<A, B>, inputs: Iterable<A>): B[] => {
  let s = stage.init();
  const out: B[] = [];
  for (const a of inputs) {
    const r = stage.step(s, a);
    s = r.state;
    out.push(...r.out);
    if (r.done) return out;
  }
  out.push(...stage.flush(s));
  return out;
};

/**
 * The stage as an RxJS operator, built from RxJS's own operators so that ending early unsubscribes from
 * the source even when it emits synchronously. When no backend is in use yet, the first subscription waits
 * for `ready()` (the default backend, see tensor/registry.ts), so a library pipeline trains on the fastest
 * backend without asking; once one is chosen, it runs synchronously.
 *
 * Laws:
 * - rx runs a stage as `runStage` does
 * - rx(compose(p, q)) = pipe(rx(p), rx(q))
 */
export const rx =
  <A, B>(stage: Stage<A, B>): OperatorFunction<A, B> =>
  (source) => {
    const run = (): Observable<B> => {
      let s = stage.init();
      let done = false;
      const stepped = source.pipe(
        rxMap((a) => {
          const r = stage.step(s, a);
          s = r.state;
          done = r.done;
          return r.out;
        }),
        takeWhile(() => !done, true),
        concatMap((out) => out),
      );
      return concat(stepped, defer(() => (done ? EMPTY : from(stage.flush(s)))));
    };
    // the first run picks the default backend (registry.ts) before any kernel is called
    return defer(() => (backendChosen() ? run() : from(ready()).pipe(concatMap(run))));
  };

/**
 * The stage as an IxJS operator over async iterables (pull-based: nothing is read before it is asked for).
 *
 * Law: ix runs a stage as `runStage` does
 */
export const ix =
  <A, B>(stage: Stage<A, B>) =>
  (source: AsyncIterable<A>): AsyncIterableX<B> =>
    AsyncIterableX.from({
      async *[Symbol.asyncIterator]() {
        if (!backendChosen()) await ready();
        let s = stage.init();
        for await (const a of source) {
          const r = stage.step(s, a);
          s = r.state;
          yield* r.out;
          if (r.done) return; // leaving the for-await returns the upstream iterator
        }
        yield* stage.flush(s);
      },
    });

/**
 * The stage as an IxJS operator over synchronous iterables.
 *
 * Law: ixSync runs a stage as `runStage` does
 */
export const ixSync =
  <A, B>(stage: Stage<A, B>) =>
  (source: Iterable<A>): IterableX<B> =>
    IterableX.from({
      *[Symbol.iterator]() {
        let s = stage.init();
        for (const a of source) {
          const r = stage.step(s, a);
          s = r.state;
          yield* r.out;
          if (r.done) return;
        }
        yield* stage.flush(s);
      },
    });
