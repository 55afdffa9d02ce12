/**
 * The parallel stage's laws, each for its RxJS and its IxJS operator, on real worker threads (Node's
 * platform seam), and prefetch's laws. Worker functions sleep a time that depends on the input, so the
 * workers finish out of order; the oracle is the same function run here with Array.prototype.map.
 */
import { fc, test } from '@fast-check/vitest';
import { from as ixFrom, toArray as ixToArray } from 'ix/asynciterable';
import { take as ixTake } from 'ix/asynciterable/operators';
import { from, lastValueFrom, take, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { startWorker } from '../../src/platform/startWorker.js';
import type { StartWorker } from '../../src/platform/worker.js';
import { parallel, workerFunction, type AsyncStage, type ParallelOptions } from '../../src/stages/parallel.js';
import { prefetch } from '../../src/stages/prefetch.js';

/** Pure, but slow by an amount that depends on the input (earlier inputs tend to finish later). */
const slowAffine = async (x: number): Promise<number> => {
  await new Promise((resolve) => setTimeout(resolve, (x * 7919) % 7));
  return 3 * x + 1;
};

const runRx = <A, B>(stage: AsyncStage<A, B>, xs: readonly A[]): Promise<B[]> => lastValueFrom(from(xs).pipe(stage.rx, toArray()));
const runIx = <A, B>(stage: AsyncStage<A, B>, xs: readonly A[]): Promise<B[]> => ixToArray(stage.ix(ixFrom(xs)));
const ADAPTERS = [
  ['rx', runRx],
  ['ix', runIx],
] as const;

const arbOpts = fc.record({ workers: fc.integer({ min: 1, max: 3 }), readAhead: fc.integer({ min: 1, max: 4 }) });
const arbXs = fc.array(fc.integer({ min: -1000, max: 1000 }), { maxLength: 12 });

/** Outputs and the error (if any) of a run, the outputs emitted before it included. */
const settleRx = <A, B>(stage: AsyncStage<A, B>, xs: readonly A[]): Promise<{ out: B[]; error: unknown }> =>
  new Promise((resolve) => {
    const out: B[] = [];
    from(xs).pipe(stage.rx).subscribe({ next: (b) => out.push(b), error: (error: unknown) => resolve({ out, error }), complete: () => resolve({ out, error: undefined }) });
  });
const settleIx = async <A, B>(stage: AsyncStage<A, B>, xs: readonly A[]): Promise<{ out: B[]; error: unknown }> => {
  const out: B[] = [];
  try {
    for await (const b of stage.ix(ixFrom(xs))) out.push(b);
    return { out, error: undefined };
  } catch (error) {
    return { out, error };
  }
};

/** Node's seam, counting the workers started and not yet terminated. */
const counting = (): { start: StartWorker; live: () => number; started: () => number } => {
  let [started, stopped] = [0, 0];
  return {
    start: (source) => {
      const port = startWorker(source);
      started++;
      let done = false;
      return {
        ...port,
        terminate: () => {
          if (!done) stopped++;
          done = true;
          port.terminate();
        },
      };
    },
    live: () => started - stopped,
    started: () => started,
  };
};

describe('parallel', () => {
  it('parallel equals map: squares of 1..5 on 2 workers, both adapters', async () => {
    const stage = parallel(workerFunction((x: number) => x * x), { workers: 2 });
    expect(await runRx(stage, [1, 2, 3, 4, 5])).toEqual([1, 4, 9, 16, 25]);
    expect(await runIx(stage, [1, 2, 3, 4, 5])).toEqual([1, 4, 9, 16, 25]);
  });

  for (const [name, run] of ADAPTERS) {
    test.prop([arbXs, arbOpts], { numRuns: 12 })(`${name}: parallel equals map: parallel(f) = map(f)`, async (xs, opts) => {
      const want = await Promise.all(xs.map(slowAffine));
      expect(await run(parallel(workerFunction(slowAffine), opts), xs)).toEqual(want);
    });

    test.prop([fc.integer({ min: 2, max: 10 }), arbOpts], { numRuns: 10 })(
      `${name}: order is preserved: outputs come in input order, whatever order the workers finish in`,
      async (len, opts) => {
        // Earlier inputs sleep longer, so with more than one in flight they finish after later ones.
        const xs = Array.from({ length: len }, (_, i) => ({ i, sleep: 3 * (len - i) }));
        const stage = parallel(
          workerFunction(async ({ i, sleep }: { i: number; sleep: number }) => {
            await new Promise((resolve) => setTimeout(resolve, sleep));
            return { i, finished: performance.now() };
          }),
          opts,
        );
        const out = await run(stage, xs);
        expect(out.map((o) => o.i)).toEqual(xs.map((x) => x.i));
      },
    );

    test.prop([fc.integer({ min: 1, max: 14 }), arbOpts], { numRuns: 10 })(
      `${name}: at most N in flight: never more than readAhead inputs are started and not yet emitted`,
      async (len, opts) => {
        // Shared with every worker: [0] inputs started, [1] outputs emitted, [2] the most started-not-emitted seen.
        const counters = new Int32Array(new SharedArrayBuffer(12));
        const stage = parallel(
          workerFunction(async ({ x, counters: c }: { x: number; counters: Int32Array }) => {
            const started = Atomics.add(c, 0, 1) + 1;
            const inFlight = started - Atomics.load(c, 1);
            for (let seen = Atomics.load(c, 2); inFlight > seen; seen = Atomics.load(c, 2)) Atomics.compareExchange(c, 2, seen, inFlight);
            await new Promise((resolve) => setTimeout(resolve, (x * 13) % 5));
            return x;
          }),
          opts,
        );
        const xs = Array.from({ length: len }, (_, x) => ({ x, counters }));
        const out: number[] = [];
        if (name === 'rx') {
          await new Promise<void>((resolve, reject) =>
            from(xs).pipe(stage.rx).subscribe({ next: (x) => void (out.push(x), Atomics.add(counters, 1, 1)), error: reject, complete: resolve }),
          );
        } else {
          for await (const x of stage.ix(ixFrom(xs))) {
            out.push(x);
            Atomics.add(counters, 1, 1);
          }
        }
        expect(out).toEqual(xs.map((x) => x.x));
        expect(Atomics.load(counters, 2)).toBeGreaterThan(0);
        expect(Atomics.load(counters, 2)).toBeLessThanOrEqual(opts.readAhead);
      },
    );

    test.prop([arbXs, fc.nat(), arbOpts], { numRuns: 10 })(
      `${name}: an error in a worker ends the stream with that error, after the outputs of the inputs before it`,
      async (xs0, at, opts) => {
        const xs = [...xs0, 5000]; // at least one input
        const bad = xs[at % xs.length]!;
        const stage = parallel(
          workerFunction(async ({ x, bad: b }: { x: number; bad: number }) => {
            await new Promise((resolve) => setTimeout(resolve, (x * 7919) % 7));
            if (x === b) throw new RangeError(`no ${x} here`);
            return 3 * x + 1;
          }),
          opts,
        );
        const first = xs.indexOf(bad);
        const { out, error } = await (name === 'rx' ? settleRx : settleIx)(stage, xs.map((x) => ({ x, bad })));
        expect(out).toEqual(xs.slice(0, first).map((x) => 3 * x + 1));
        expect(error).toBeInstanceOf(Error);
        expect([(error as Error).name, (error as Error).message]).toEqual(['RangeError', `no ${bad} here`]);
      },
    );

    test.prop([fc.integer({ min: 0, max: 6 }), fc.integer({ min: 1, max: 20 }), arbOpts], { numRuns: 10 })(
      `${name}: ending the stream early stops the workers`,
      async (k, len, opts) => {
        const seam = counting();
        const o: ParallelOptions = { ...opts, startWorker: seam.start };
        const stage = parallel(workerFunction(slowAffine), o);
        const xs = Array.from({ length: len }, (_, i) => i);
        const out = name === 'rx' ? await lastValueFrom(from(xs).pipe(stage.rx, take(k), toArray())) : await ixToArray(stage.ix(ixFrom(xs)).pipe(ixTake(k)));
        expect(out).toEqual((await Promise.all(xs.map(slowAffine))).slice(0, k));
        expect(seam.live()).toBe(0);
        if (k > 0) expect(seam.started()).toBe(opts.workers);
      },
    );
  }

  it('a worker that cannot run the function ends the stream with an error naming it', async () => {
    const stage = parallel<number, number>({ module: new URL('./no-such-module.js', import.meta.url).href, name: 'f' }, { workers: 1 });
    await expect(runRx(stage, [1])).rejects.toThrow(/no-such-module|Cannot find/);
    const notFn = parallel<number, number>({ source: '42' }, { workers: 1 });
    await expect(runIx(notFn, [1])).rejects.toThrow(/not a function/);
  });

  it.runIf(process.platform === 'linux')('background workers run at the lowest priority (nice 19), others at the caller\'s', async () => {
    const nice = workerFunction((_: number) => (process as unknown as { getBuiltinModule(m: string): typeof import('node:os') }).getBuiltinModule('node:os').getPriority(0));
    const mine = (await import('node:os')).getPriority(0);
    expect(await runIx(parallel(nice, { workers: 2, background: true }), [1, 2, 3])).toEqual([19, 19, 19]);
    expect(await runRx(parallel(nice, { workers: 1 }), [1])).toEqual([mine]);
  });

  it('rejects a worker count or read-ahead that is not a whole number >= 1', () => {
    expect(() => parallel(workerFunction((x: number) => x), { workers: 0 })).toThrow(/workers/);
    expect(() => parallel(workerFunction((x: number) => x), { workers: 1, readAhead: 1.5 })).toThrow(/readAhead/);
  });
});

describe('prefetch', () => {
  /** An async source of 0..len-1 counting how often it has been asked for an item. */
  const counted = (len: number) => {
    let asked = 0;
    return {
      source: {
        async *[Symbol.asyncIterator]() {
          for (let i = 0; i < len; i++) {
            asked++;
            await Promise.resolve();
            yield i;
          }
        },
      },
      asked: () => asked,
    };
  };

  test.prop([fc.array(fc.anything(), { maxLength: 30 }), fc.integer({ min: 1, max: 8 })], { numRuns: 100 })(
    'prefetch is the identity: prefetch(n)(xs) = xs',
    async (xs, n) => {
      expect(await ixToArray(prefetch(n)(ixFrom(xs)))).toEqual(xs);
    },
  );

  test.prop([fc.integer({ min: 0, max: 30 }), fc.integer({ min: 1, max: 8 })], { numRuns: 100 })(
    'it reads at most n ahead: when the consumer has taken k items, the source has been asked for at most k + n',
    async (len, n) => {
      const c = counted(len);
      let k = 0;
      for await (const x of prefetch(n)(c.source)) {
        expect(x).toBe(k);
        k++;
        await new Promise((resolve) => setTimeout(resolve, 0)); // let it read ahead as far as it will
        expect(c.asked()).toBeLessThanOrEqual(k + n);
      }
      expect(k).toBe(len);
    },
  );
});
