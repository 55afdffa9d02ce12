/**
 * Read-ahead over an async iterable: `prefetch(n)` asks its source for up to `n` items before they are
 * wanted, so a producer that works asynchronously (a parallel stage, a file reader) runs while the consumer
 * is busy with the current item. Items come out as they went in.
 *
 * Laws:
 * - prefetch is the identity: prefetch(n)(xs) = xs
 * - it reads at most n ahead: when the consumer has taken k items, the source has been asked for at most
 *   k + n
 *
 * Why only for IxJS: an RxJS source pushes as fast as it likes, so it is always "read ahead"; pulling is what
 * an async iterable adds. The source's `next` is called again before the previous call has settled, which
 * async generators (and IxJS's iterables) queue in order.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { from, toArray } from 'ix/asynciterable';
 * import { prefetch } from 'gradpipe';
 *
 * assert.deepEqual(await toArray(prefetch(2)(from([1, 2, 3]))), [1, 2, 3]);
 * ```
 */
import { AsyncIterableX } from 'ix/asynciterable';

/** `p`, with a no-op handler so that a rejection nobody awaits yet is not reported as unhandled. */
export const quiet = <T>(p: Promise<T>): Promise<T> => {
  p.catch(() => undefined);
  return p;
};

/** Reads up to `n` items of the source ahead of the consumer (n >= 1); see the module's laws. */
export const prefetch =
  (n: number) =>
  <A>(source: AsyncIterable<A>): AsyncIterableX<A> => {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`prefetch: n must be a whole number >= 1, got ${n}`);
    return AsyncIterableX.from({
      async *[Symbol.asyncIterator]() {
        const it = source[Symbol.asyncIterator]();
        const ahead: Promise<IteratorResult<A>>[] = [];
        let ended = false;
        try {
          for (;;) {
            while (ahead.length < n) ahead.push(quiet(it.next()));
            const r = await ahead.shift()!;
            if (r.done === true) {
              ended = true;
              return;
            }
            yield r.value;
          }
        } catch (e) {
          ended = true; // the source threw: it is finished
          throw e;
        } finally {
          if (!ended) await it.return?.();
        }
      },
    });
  };
