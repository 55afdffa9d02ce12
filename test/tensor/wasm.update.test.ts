/**
 * The wasm backend's fused optimiser updates against the TypeScript loops of src/optim/kernels.ts: the same
 * float32 bits for the new parameters and moments and the same check (sumSquares's order, by blocks and
 * lanes), on 1 and 2 threads.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { adamUpdate, CHECK_BLOCK, momentumUpdate, sgdUpdate } from '../../src/optim/kernels.js';
import type { OptimizerUpdates } from '../../src/tensor/backend.js';
import { seeded, SPLIT, wasm } from './wasm.support.js';
import { applyUpdate, type UpdateCase } from './updates.support.js';

const one = await wasm(1);
const split = await wasm(2, SPLIT);
const BACKENDS = [
  ['1 thread', one.optimizerUpdates!],
  ['2 threads', split.optimizerUpdates!],
] as const;

const TS: OptimizerUpdates = { sgd: sgdUpdate, momentum: momentumUpdate, adam: adamUpdate };
const RULES = ['sgd', 'momentum', 'nesterov', 'adam'] as const;


// Mostly moderate values, where an update moves a parameter by a sizeable part of itself and a wrong
// rounding of an intermediate shows in the stored bits; also a wide range, subnormals and -0 included. With
// `special`, also NaN, infinities and values whose squares or updates overflow float32.
const finite = fc.oneof(
  { weight: 3, arbitrary: fc.double({ min: -4, max: 4, noNaN: true }) },
  { weight: 1, arbitrary: fc.float({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }) },
);
const special = fc.oneof(
  { weight: 4, arbitrary: finite },
  { weight: 1, arbitrary: fc.constantFrom(Number.NaN, Infinity, -Infinity, 3e38, -3e38, 1e-45, -0) },
);
const tensor = (len: number, withSpecial: boolean) =>
  fc.array(withSpecial ? special : finite, { minLength: len, maxLength: len }).map((xs) => Float32Array.from(xs));
const rate = (max: number) =>
  fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 4, arbitrary: fc.double({ min: 0, max, noNaN: true }) });

const arbUpdate = (maxLength: number, withSpecial: boolean, minLength = 0): fc.Arbitrary<UpdateCase> =>
  fc
    .record({
      rule: fc.constantFrom(...RULES),
      length: fc.integer({ min: minLength, max: maxLength }),
      clip: fc.oneof(fc.constant(1), fc.double({ min: 1e-3, max: 1, noNaN: true })),
      decay: rate(0.1),
      lr: rate(1),
      mu: rate(0.999),
      b1: rate(0.999),
      b2: rate(0.9999),
      t: fc.integer({ min: 1, max: 1000 }),
      eps: fc.double({ min: 1e-10, max: 1e-3, noNaN: true }),
    })
    .chain(({ length, ...p }) =>
      fc
        .tuple(tensor(length, withSpecial), tensor(length, withSpecial), tensor(length, withSpecial), tensor(length, withSpecial))
        // a second moment is never negative (except when anything goes)
        .map(([w, g, v, s]) => ({ ...p, w, g, v, s: withSpecial ? s : s.map(Math.abs) })),
    );


/** Object.is on every element and on the check: every bit, except that one NaN equals another. */
const expectSame = (got: ReturnType<typeof applyUpdate>, want: ReturnType<typeof applyUpdate>, label: string): void => {
  for (const key of ['w2', 'v2', 's2'] as const) {
    const [x, y] = [got[key], want[key]];
    for (let i = 0; i < y.length; i++) {
      if (!Object.is(x[i], y[i])) expect.fail(`${label}: ${key}[${i}] is ${x[i]}, the TypeScript loop gives ${y[i]}`);
    }
  }
  if (!Object.is(got.check, want.check)) expect.fail(`${label}: check ${got.check}, the TypeScript loop gives ${want.check}`);
};

describe('wasm optimiser updates: the bits of the TypeScript loops', () => {
  test.prop([arbUpdate(41, false)], { numRuns: 300 })(
    'parameters, moments and check equal src/optim/kernels.ts bit for bit on 1 and 2 threads',
    (c) => {
      const want = applyUpdate(TS, c);
      for (const [label, k] of BACKENDS) expectSame(applyUpdate(k, c), want, `${c.rule}, ${label}`);
    },
  );

  // odd lengths end in an element computed by the scalar code, not the two-lane loop: test it on its own
  test.prop([arbUpdate(1, false, 1)], { numRuns: 3000 })('a single value (the scalar path) has the bits of the TypeScript loops', (c) => {
    const want = applyUpdate(TS, c);
    for (const [label, k] of BACKENDS) expectSame(applyUpdate(k, c), want, `${c.rule}, ${label}`);
  });

  test.prop([arbUpdate(23, true)], { numRuns: 300 })(
    'with NaN, infinities and overflow: the same values and check, NaN whenever a parameter or gradient is not finite',
    (c) => {
      const want = applyUpdate(TS, c);
      const nonFinite = [...c.w, ...c.g].some((x) => !Number.isFinite(x));
      if (nonFinite) expect(Number.isFinite(want.check)).toBe(false); // the oracle's own law
      for (const [label, k] of BACKENDS) expectSame(applyUpdate(k, c), want, `${c.rule}, ${label}`);
    },
  );

  it('updates tensors of several blocks with the same bits on 1 and 2 threads; an infinity in the last block gives a NaN check', () => {
    // over the blocks of assembly/optimizer.ts, the last one ending at every place in a group of eight lanes
    for (const n of [2 * CHECK_BLOCK, ...[1, 2, 3, 4, 5, 6, 7].map((r) => 2 * CHECK_BLOCK + 8 + r)]) severalBlocks(n);
  });

  const severalBlocks = (n: number): void => {
    const base = { w: seeded(n, 1), g: seeded(n, 2), v: seeded(n, 3), s: seeded(n, 4).map(Math.abs) };
    const hyper = { clip: 0.75, decay: 1e-4, lr: 0.01, mu: 0.9, b1: 0.9, b2: 0.999, t: 7, eps: 1e-8 };
    for (const rule of RULES) {
      const c: UpdateCase = { rule, ...base, ...hyper };
      const want = applyUpdate(TS, c);
      const got = BACKENDS.map(([label, k]) => {
        const r = applyUpdate(k, c);
        expectSame(r, want, `${rule}, ${n} values, ${label}`);
        return r.check;
      });
      expect(got[1]).toBe(got[0]); // the check is summed per block in block order, whatever the threads
      const g = base.g.slice();
      g[n - 5] = Infinity;
      for (const [label, k] of BACKENDS) {
        const bad = applyUpdate(k, { ...c, g });
        expect(Number.isNaN(bad.check), `${rule}, ${label}`).toBe(true);
        expectSame(bad, applyUpdate(TS, { ...c, g }), `${rule} with an infinite gradient, ${label}`);
      }
    }
  };

  it('rejects short buffers as programmer errors', () => {
    const u = one.optimizerUpdates!;
    const w = new Float32Array(8);
    expect(() => u.sgd(w, new Float32Array(7), 1, 0, 0.1, new Float32Array(8))).toThrow(/g has 7 values, needs 8/);
    expect(() => u.momentum(w, w, w, 1, 0, 0.1, 0.9, false, new Float32Array(8), new Float32Array(3))).toThrow(/v2 has 3 values/);
  });
});
