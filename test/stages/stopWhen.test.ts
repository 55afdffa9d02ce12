import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { runStage } from '../../src/stages/stage.js';
import { allOf, anyOf, never, stopReason, stopWhen, type StopCondition } from '../../src/stages/stopWhen.js';
import { outputs } from '../laws/harness.js';

const arbCond: fc.Arbitrary<StopCondition<number>> = fc.oneof(
  fc.integer({ min: -10, max: 10 }).map((t) => (x: number) => (x > t ? `above ${t}` : undefined)),
  fc.integer({ min: 2, max: 5 }).map((m) => (x: number) => (x % m === 0 ? `multiple of ${m}` : undefined)),
  fc.constant(never<number>()),
);
const arbXs = fc.array(fc.integer({ min: -10, max: 10 }), { maxLength: 40 });

/** A condition that counts how often it is asked. */
const counted = (p: StopCondition<number>) => {
  const calls: number[] = [];
  return { calls, p: (x: number) => (calls.push(x), p(x)) };
};

describe('stopWhen', () => {
  test.prop([arbCond, arbXs], { numRuns: 200 })('the states of the output are a prefix of the input', async (p, xs) => {
    for (const out of await outputs(stopWhen(p), xs)) {
      const states = out.map((o) => o.state);
      expect(xs.slice(0, states.length)).toEqual(states);
    }
  });

  test.prop([arbXs], { numRuns: 200 })('a never-true condition passes every state on without a reason', async (xs) => {
    for (const out of await outputs(stopWhen(never<number>()), xs)) expect(out).toEqual(xs.map((state) => ({ state, reason: undefined })));
  });

  test.prop([arbCond, arbCond, arbXs], { numRuns: 200 })(
    'stopping at anyOf(p, q) stops at the first state where p or q holds, with the reason of the first that holds',
    async (p, q, xs) => {
      const first = xs.findIndex((x) => p(x) !== undefined || q(x) !== undefined);
      for (const out of await outputs(stopWhen(anyOf(p, q)), xs)) {
        expect(out.length).toBe(first < 0 ? xs.length : first + 1);
        if (first >= 0) expect(out.at(-1)!.reason).toBe(p(xs[first]!) ?? q(xs[first]!));
      }
    },
  );

  test.prop([arbCond, arbXs], { numRuns: 200 })(
    'the state that satisfied the condition is emitted last, with its reason, and the condition is evaluated once per state',
    (cond, xs) => {
      const { calls, p } = counted(cond);
      const out = runStage(stopWhen(p), xs);
      expect(calls).toEqual(out.map((o) => o.state)); // once per state that went through, in order
      const first = xs.findIndex((x) => cond(x) !== undefined);
      if (first < 0) expect(out.every((o) => o.reason === undefined)).toBe(true);
      else {
        expect(out.length).toBe(first + 1);
        expect(out.at(-1)!.reason).toBe(cond(xs[first]!));
        out.slice(0, -1).forEach((o) => expect(o.reason).toBeUndefined());
      }
    },
  );

  it('stopReason says why a run ended: the condition, or that the input ran out', () => {
    expect(stopReason({ state: 1, reason: 'done' })).toBe('done');
    expect(stopReason({ state: 1, reason: undefined })).toBe('the input ended');
  });

  it('anyOf gives the first reason, allOf all of them', () => {
    const big = (x: number) => (x > 5 ? 'big' : undefined);
    const even = (x: number) => (x % 2 === 0 ? 'even' : undefined);
    expect(anyOf(big, even)(8)).toBe('big');
    expect(anyOf(big, even)(4)).toBe('even');
    expect(allOf(big, even)(8)).toBe('big and even');
    expect(allOf(big, even)(7)).toBeUndefined();
    expect(allOf<number>()(1)).toBeUndefined();
  });
});
