import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { from, lastValueFrom, toArray } from 'rxjs';
import { cat, compose, map, rx, runStage } from '../../src/stages/stage.js';
import { arbInputs, arbStage } from '../arb/stage.js';
import { outputs, runAll } from './harness.js';

describe('stage composition laws (every adapter)', () => {
  test.prop([arbStage, arbInputs], { numRuns: 200 })('identity: compose(cat, p) = p = compose(p, cat)', async (p, xs) => {
    const expected = await outputs(p.stage, xs);
    expect(await outputs(compose(cat<number>(), p.stage), xs)).toEqual(expected);
    expect(await outputs(compose(p.stage, cat<number>()), xs)).toEqual(expected);
  });

  test.prop([arbStage, arbStage, arbStage, arbInputs], { numRuns: 200 })(
    'associativity: compose(compose(p, q), r) = compose(p, compose(q, r))',
    async (p, q, r, xs) => {
      expect(await outputs(compose(compose(p.stage, q.stage), r.stage), xs)).toEqual(await outputs(compose(p.stage, compose(q.stage, r.stage)), xs));
    },
  );

  test.prop([arbStage, arbInputs], { numRuns: 200 })('every adapter agrees with the reference interpreter: rx runs a stage as `runStage` does, ix runs a stage as `runStage` does, ixSync runs a stage as `runStage` does', async (p, xs) => {
    const r = await runAll(p.stage, xs);
    expect(r.rxjs).toEqual(r.reference);
    expect(r.ixAsync).toEqual(r.reference);
    expect(r.ixSync).toEqual(r.reference);
  });

  test.prop([arbStage, arbStage, arbInputs], { numRuns: 200 })('rx(compose(p, q)) = pipe(rx(p), rx(q))', async (p, q, xs) => {
    const piped = await lastValueFrom(from(xs).pipe(rx(p.stage), rx(q.stage), toArray()));
    expect(piped).toEqual(runStage(compose(p.stage, q.stage), xs));
  });

  test.prop([arbInputs, fc.integer({ min: -3, max: 3 }), fc.integer({ min: -3, max: 3 })], { numRuns: 100 })(
    'map laws: map(id) = cat; map(g . f) = compose(map(f), map(g))',
    (xs, a, b) => {
      expect(runStage(map((x: number) => x), xs)).toEqual(runStage(cat<number>(), xs));
      const f = (x: number) => a * x + 1;
      const g = (x: number) => x - b;
      expect(runStage(map((x: number) => g(f(x))), xs)).toEqual(runStage(compose(map(f), map(g)), xs));
    },
  );
});
