import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { runStage, compose } from '../../src/stages/stage.js';
import { allOf, anyOf, never, stopWhen, type StopCondition } from '../../src/stages/stopWhen.js';
import { outputs } from '../laws/harness.js';

const arbCond: fc.Arbitrary<StopCondition<number>> = fc.oneof(
  fc.integer({ min: -10, max: 10 }).map((t) => (x: number) => (x > t ? `above ${t}` : undefined)),
  fc.integer({ min: 2, max: 5 }).map((m) => (x: number) => (x % m === 0 ? `multiple of ${m}` : undefined)),
  fc.constant(never<number>()),
);
const arbXs = fc.array(fc.integer({ min: -10, max: 10 }), { maxLength: 40 });

describe('stopWhen', () => {
  test.prop([arbCond, arbXs], { numRuns: 200 })('the output is a prefix of the input', (p, xs) => {
    const out = runStage(stopWhen(p), xs);
    expect(xs.slice(0, out.length)).toEqual(out);
  });

  test.prop([arbXs], { numRuns: 200 })('a never-true condition is the identity', async (xs) => {
    for (const out of await outputs(stopWhen(never<number>()), xs)) expect(out).toEqual(xs);
  });

  test.prop([arbCond, arbCond, arbXs], { numRuns: 200 })('stop(p) then stop(q) = stop(p or q)', async (p, q, xs) => {
    expect(await outputs(compose(stopWhen(p), stopWhen(q)), xs)).toEqual(await outputs(stopWhen(anyOf(p, q)), xs));
  });

  test.prop([arbCond, arbXs], { numRuns: 200 })('the state that satisfied the condition is emitted last', (p, xs) => {
    const out = runStage(stopWhen(p), xs);
    const first = xs.findIndex((x) => p(x) !== undefined);
    if (first < 0) expect(out).toEqual(xs);
    else {
      expect(out.length).toBe(first + 1);
      expect(p(out.at(-1)!)).toBeDefined();
      out.slice(0, -1).forEach((x) => expect(p(x)).toBeUndefined());
    }
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
