/** Arbitrary number -> number stages built from the library's stages, for the composition laws. */
import fc from 'fast-check';
import { batch } from '../../src/stages/batch.js';
import { tap } from '../../src/stages/report.js';
import { permute, shuffle } from '../../src/stages/shuffle.js';
import { cat, compose, map, type Stage } from '../../src/stages/stage.js';
import { stopWhen, type Stopped } from '../../src/stages/stopWhen.js';

/** Flattens arrays (the inverse of batch, as a stage). */
export const flatten = <A>(): Stage<A[], A, undefined> => ({
  init: () => undefined,
  step: (s, xs) => ({ state: s, out: xs, done: false }),
  flush: () => [],
});

export interface Named {
  readonly name: string;
  readonly stage: Stage<number, number>;
}

export const arbStage: fc.Arbitrary<Named> = fc.oneof(
  fc.constant({ name: 'cat', stage: cat<number>() }),
  fc.tuple(fc.integer({ min: -3, max: 3 }), fc.integer({ min: -5, max: 5 })).map(([k, c]) => ({ name: `map(${k}x+${c})`, stage: map((x: number) => k * x + c) })),
  fc.integer({ min: -20, max: 20 }).map((t) => ({ name: `stopWhen(>${t})`, stage: compose(stopWhen((x: number) => (x > t ? 'over' : undefined)), map((o: Stopped<number>) => o.state)) })),
  fc.tuple(fc.integer({ min: 1, max: 5 }), fc.nat()).map(([k, seed]) => ({ name: `shuffle(${k},${seed})`, stage: shuffle<number>(k, seed) })),
  fc.nat().map((seed) => ({ name: `permute(${seed})`, stage: permute<number>(seed, 0) })),
  fc.integer({ min: 1, max: 4 }).map((n) => ({ name: `batch(${n})>->flatten`, stage: compose(batch<number>(n), flatten<number>()) })),
  fc.constant({ name: 'tap', stage: tap<number>(() => undefined) }),
);

export const arbInputs = fc.array(fc.integer({ min: -20, max: 20 }), { maxLength: 30 });
