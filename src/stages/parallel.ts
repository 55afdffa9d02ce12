/**
 * The parallel stage: runs a pure function over the stream on worker threads, a bounded number of items
 * ahead, and emits the results in input order. It is asynchronous, so it is not a Mealy `Stage`: it comes as
 * its own RxJS operator (`.rx`) and IxJS operator (`.ix`), both over the same worker pool (`openPool`) and
 * the same bound. Workers start when a run starts (subscription / first pull) and stop when it ends, however
 * it ends. Starting a worker goes through the platform seam (src/platform/worker.ts); Node's is the default.
 *
 * Laws:
 * - parallel equals map: parallel(f) = map(f)
 * - order is preserved: outputs come in input order, whatever order the workers finish in
 * - at most N in flight: never more than readAhead inputs are started and not yet emitted
 * - an error in a worker ends the stream with that error, after the outputs of the inputs before it
 * - ending the stream early stops the workers
 *
 * Running `.rx` (a source pushes without waiting, so inputs beyond the bound wait here, unstarted):
 * 1. each input is started on the least loaded worker while fewer than readAhead are in flight, else queued;
 * 2. the oldest started input's result is emitted as soon as it is there, and the next queued input starts;
 * 3. the stream completes when the source has and every result is out; an error (the source's or a
 *    worker's) ends it at once; either way, and on unsubscribe, the workers are terminated.
 * `.ix` pulls its source only as results are taken, reading readAhead inputs ahead (`prefetch`).
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { from, toArray } from 'ix/asynciterable';
 * import { parallel, workerFunction } from 'gradpipe';
 *
 * const square = parallel(workerFunction((x: number) => x * x), { workers: 2 });
 * assert.deepEqual(await toArray(square.ix(from([1, 2, 3]))), [1, 4, 9]);
 * ```
 */
import { Observable, type OperatorFunction } from 'rxjs';
import { AsyncIterableX } from 'ix/asynciterable';
import { startWorker as platformStartWorker } from '#platform/startWorker.js';
import { WORKER_MAIN, type StartWorker, type WorkerFunction } from '../platform/worker.js';
import { prefetch, quiet } from './prefetch.js';

export type { WorkerFunction } from '../platform/worker.js';

/** The function `f` for a worker, as its source text: `f` must not use variables from around it. */
export const workerFunction = <A, B>(f: (a: A) => B | Promise<B>): WorkerFunction<A, Awaited<B>> => ({ source: f.toString() });

/** The export `name` of the ES module at `url` (a file: or http(s): URL), for a worker to import. */
export const workerModule = <A, B>(url: string | URL, name: string): WorkerFunction<A, B> => ({ module: String(url), name });

/** How `parallel` runs: how many workers, how far it reads ahead, and how a worker is started. */
export interface ParallelOptions {
  /** Worker threads (>= 1). */
  readonly workers: number;
  /** Inputs started and not yet emitted, at most (>= 1; default: `workers`). */
  readonly readAhead?: number;
  /** How to start a worker (default: Node's worker_threads; the browser's Web Workers later). */
  readonly startWorker?: StartWorker;
  /**
   * Run the workers at the lowest CPU priority the platform allows (default false): they then use the cores
   * the calling thread and its kernels leave idle, and slow them little when there are none.
   */
  readonly background?: boolean;
}

/** An asynchronous stage: the same stage as an RxJS operator and as an IxJS operator over async iterables. */
export interface AsyncStage<A, B> {
  /** The stage as an RxJS operator. */
  readonly rx: OperatorFunction<A, B>;
  /** The stage as an IxJS operator over async iterables. */
  readonly ix: (source: AsyncIterable<A>) => AsyncIterableX<B>;
}

/** Workers running one function: `run` sends an input to the least loaded one; `close` terminates them all. */
export interface WorkerPool<A, B> {
  /** The function's output for `input`, computed by the least loaded worker. */
  run(input: A): Promise<B>;
  /** Terminates the workers; what is still running rejects with `why`, and so does every later `run`. */
  close(why?: Error): void;
}

interface Reply {
  readonly id: number;
  readonly ok: boolean;
  readonly value?: unknown;
  readonly error?: { readonly name: string; readonly message: string; readonly stack?: string };
}

/** The worker's error as an Error here: same name and message (and the worker's stack, when it had one). */
const revive = (e: NonNullable<Reply['error']>): Error => {
  const err = new Error(e.message);
  err.name = e.name;
  if (e.stack !== undefined) err.stack = e.stack;
  return err;
};

/** Starts `workers` workers running `fn`. */
export const openPool = <A, B>(fn: WorkerFunction<A, B>, workers: number, start: StartWorker = platformStartWorker, background = false): WorkerPool<A, B> => {
  const pending = new Map<number, { resolve: (b: B) => void; reject: (e: Error) => void; worker: number }>();
  const load = new Array<number>(workers).fill(0);
  let nextId = 0;
  let closed: Error | undefined;
  const settle = (id: number): { resolve: (b: B) => void; reject: (e: Error) => void } | undefined => {
    const task = pending.get(id);
    if (task === undefined) return undefined;
    pending.delete(id);
    if (--load[task.worker]! === 0) ports[task.worker]!.busy(false);
    return task;
  };
  const close = (why: Error = new Error('parallel: the stage has ended')): void => {
    if (closed !== undefined) return;
    closed = why;
    ports.forEach((p) => p.terminate());
    for (const task of pending.values()) task.reject(why);
    pending.clear();
  };
  const ports = Array.from({ length: workers }, () => start(WORKER_MAIN, { background }));
  ports.forEach((port) => {
    port.post({ fn }, []);
    port.onMessage((m) => {
      const r = m as Reply;
      const task = settle(r.id);
      if (task === undefined) return;
      if (r.ok) task.resolve(r.value as B);
      else task.reject(revive(r.error ?? { name: 'Error', message: 'parallel: a worker failed without a message' }));
    });
    port.onFailure((e) => close(e));
  });
  return {
    run: (input) => {
      if (closed !== undefined) return Promise.reject(closed);
      const w = load.indexOf(Math.min(...load));
      const id = nextId++;
      return new Promise<B>((resolve, reject) => {
        pending.set(id, { resolve, reject, worker: w });
        if (load[w]!++ === 0) ports[w]!.busy(true);
        try {
          ports[w]!.post({ id, input }, []);
        } catch (e) {
          settle(id);
          reject(e instanceof Error ? e : new Error(String(e)));
        }
      });
    },
    close,
  };
};

/**
 * `fn` over the stream on `opts.workers` worker threads, at most `opts.readAhead` inputs in flight, outputs
 * in input order. See the module's laws.
 */
export const parallel = <A, B>(fn: WorkerFunction<A, B>, opts: ParallelOptions): AsyncStage<A, B> => {
  const { workers } = opts;
  const n = opts.readAhead ?? workers;
  const start = opts.startWorker ?? platformStartWorker;
  if (!Number.isInteger(workers) || workers < 1) throw new RangeError(`parallel: workers must be a whole number >= 1, got ${workers}`);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`parallel: readAhead must be a whole number >= 1, got ${n}`);

  const rx: OperatorFunction<A, B> = (source) =>
    new Observable<B>((sub) => {
      const pool = openPool(fn, workers, start, opts.background ?? false);
      const started: Promise<B>[] = []; // in input order
      const waiting: A[] = []; // arrived, not started: an RxJS source cannot be paused
      let sourceDone = false;
      let emitting = false;
      const startMore = (): void => {
        while (started.length < n && waiting.length > 0) started.push(quiet(pool.run(waiting.shift()!)));
      };
      const emit = async (): Promise<void> => {
        emitting = true;
        while (started.length > 0) {
          let b: B;
          try {
            b = await started[0]!;
          } catch (e) {
            sub.error(e);
            return;
          }
          if (sub.closed) return;
          started.shift();
          sub.next(b);
          if (sub.closed) return;
          startMore();
        }
        emitting = false;
        if (sourceDone) sub.complete();
      };
      const upstream = source.subscribe({
        next: (a) => {
          waiting.push(a);
          startMore();
          if (!emitting) void emit();
        },
        error: (e: unknown) => sub.error(e),
        complete: () => {
          sourceDone = true;
          if (!emitting) sub.complete(); // nothing started or waiting (emit runs until both are empty)
        },
      });
      return () => {
        upstream.unsubscribe();
        pool.close();
      };
    });

  const ix = (source: AsyncIterable<A>): AsyncIterableX<B> =>
    AsyncIterableX.from({
      async *[Symbol.asyncIterator]() {
        const pool = openPool(fn, workers, start, opts.background ?? false);
        // A wrapper, so that reading ahead starts the work without waiting for it.
        const startedAll = async function* () {
          for await (const a of source) yield { result: quiet(pool.run(a)) };
        };
        const it = prefetch(n)(startedAll())[Symbol.asyncIterator]();
        try {
          for (;;) {
            const r = await it.next();
            if (r.done === true) return;
            yield await r.value.result;
          }
        } finally {
          pool.close(); // first: the workers stop now, not after the source's pending reads settle
          await it.return?.();
        }
      },
    });

  return { rx, ix };
};
