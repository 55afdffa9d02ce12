import { fc, test } from '@fast-check/vitest';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { formatError, optionError, type GradpipeError } from '../../src/errors.js';
import { MAX_THREADS, type Backend, type BackendName } from '../../src/tensor/backend.js';
import * as _ from '../../src/tensor/select.js';
import { createTsBackend, gemmTs } from '../../src/tensor/ts.js';

const NAMES: readonly BackendName[] = ['native', 'wasm', 'ts'];

interface Availability {
  readonly native: boolean;
  readonly wasm: boolean;
  readonly ts: boolean;
}

/** Fake constructors: `available` decides who succeeds; `calls` records who was asked, with which threads. */
const fakes = (available: Availability) => {
  const calls: { name: BackendName; threads: number | undefined }[] = [];
  const factory =
    (name: BackendName): _.BackendFactory =>
    async (threads) => {
      calls.push({ name, threads });
      return available[name]
        ? E.right({ ...createTsBackend(), name, threads: threads ?? 1 })
        : E.left(optionError(`${name} backend`, `${name} reason`, `${name} hint`));
    };
  const factories: _.BackendFactories = { native: factory('native'), wasm: factory('wasm'), ts: factory('ts') };
  return { resolve: _.resolveBackendWith(factories), calls };
};

const arbAvailability = fc.record({ native: fc.boolean(), wasm: fc.boolean(), ts: fc.boolean() });
const arbThreads = fc.option(fc.integer({ min: 1, max: 64 }), { nil: undefined });

const leftOf = <A>(r: E.Either<GradpipeError, A>): GradpipeError => {
  if (E.isRight(r)) throw new Error('expected a Left');
  return r.left;
};

describe('resolveBackend', () => {
  test.prop([arbAvailability, arbThreads], { numRuns: 100 })(
    'should respect the law: auto chooses the first available of native, wasm, ts and starts nothing slower',
    async (available, threads) => {
      const { resolve, calls } = fakes(available);
      const r = await resolve('auto', threads);
      const first = NAMES.find((n) => available[n]);
      const tried = first === undefined ? NAMES : NAMES.slice(0, NAMES.indexOf(first) + 1);
      expect(calls).toEqual(tried.map((name) => ({ name, threads })));
      if (first === undefined) {
        expect(leftOf(r)).toMatchObject({ _tag: 'OptionError', where: 'backend' });
        return;
      }
      if (E.isLeft(r)) return expect.fail(formatError(r.left));
      expect(r.right.backend.name).toBe(first);
      expect(r.right.why).toMatch(new RegExp(`^auto chose ${first}`));
      for (const n of tried.slice(0, -1)) expect(r.right.why).toContain(`${n} unavailable (${n} reason)`);
      for (const n of NAMES.slice(NAMES.indexOf(first) + 1)) expect(r.right.why).toMatch(new RegExp(`${n}.* not tried`));
    },
  );

  test.prop([arbAvailability, fc.constantFrom(...NAMES), arbThreads], { numRuns: 100 })(
    'should respect the law: an explicit choice is that backend when available, else a Left on backend',
    async (available, choice, threads) => {
      const { resolve, calls } = fakes(available);
      const r = await resolve(choice, threads);
      expect(calls).toEqual([{ name: choice, threads }]);
      if (available[choice]) {
        expect(E.map((x: _.Resolved) => x.backend.name)(r)).toEqual(E.right(choice));
      } else {
        const e = leftOf(r);
        expect(e).toMatchObject({ _tag: 'OptionError', where: 'backend' });
        expect(e.message).toContain(`${choice} reason`);
        for (const other of _.BACKEND_CHOICES.filter((c) => c !== choice)) expect(e.hint).toContain(other);
      }
    },
  );

  test.prop([fc.constantFrom(..._.BACKEND_CHOICES), fc.oneof(fc.integer({ max: 0 }), fc.integer({ min: MAX_THREADS + 1 }), fc.double({ noInteger: true }))], { numRuns: 100 })(
    'should respect the law: a thread count that is not an integer from 1 to MAX_THREADS is a Left on threads, starting nothing',
    async (choice, threads) => {
      const { resolve, calls } = fakes({ native: true, wasm: true, ts: true });
      expect(leftOf(await resolve(choice, threads))).toMatchObject({ _tag: 'OptionError', where: 'threads' });
      expect(calls).toEqual([]);
    },
  );

  it("passes a backend's own threads refusal through instead of falling back", async () => {
    // a count inside the common range (1 to MAX_THREADS) that this backend still refuses
    const tooMany: _.BackendFactory = async () => E.left(optionError('threads', 'must be at most 32', 'pass fewer'));
    const factories: _.BackendFactories = { ..._.backendFactories, native: tooMany };
    for (const choice of ['auto', 'native'] as const) {
      expect(leftOf(await _.resolveBackendWith(factories)(choice, 50))).toMatchObject({ where: 'threads', message: 'must be at most 32' });
    }
  });

  it('treats a backend whose start-up throws as unavailable, with the error as its reason', async () => {
    const broken: _.BackendFactory = async () => {
      throw new Error('worker exploded');
    };
    const r = await _.resolveBackendWith({ ..._.backendFactories, native: broken, wasm: broken })('auto');
    if (E.isLeft(r)) return expect.fail(formatError(r.left));
    expect(r.right.backend.name).toBe('ts');
    expect(r.right.why).toMatch(/^auto chose ts; native unavailable \(failed to start: worker exploded\); wasm unavailable/);
  });
});

describe('resolveBackend on this machine (CI installs OpenBLAS and builds every backend)', () => {
  /** A small product through the resolved backend against the float64 reference. */
  const multiplies = (b: Backend): void => {
    const [m, n, k] = [3, 5, 4];
    const a = Float32Array.from({ length: m * k }, (_v, i) => (i % 7) - 3);
    const bm = Float32Array.from({ length: k * n }, (_v, i) => (i % 5) * 0.5);
    const c = new Float32Array(m * n);
    b.gemm(false, false, m, n, k, 1, a, bm, 0, c);
    const want = new Float64Array(m * n);
    gemmTs(false, false, m, n, k, 1, Float64Array.from(a), Float64Array.from(bm), 0, want);
    expect(Array.from(c)).toEqual(Array.from(want));
  };

  for (const choice of NAMES) {
    it(`--backend ${choice} gives the ${choice} backend, which computes`, async () => {
      const r = await _.resolveBackend(choice, 2);
      if (E.isLeft(r)) return expect.fail(formatError(r.left));
      try {
        expect(r.right.backend.name).toBe(choice);
        expect(r.right.backend.threads).toBe(choice === 'ts' ? 1 : 2);
        multiplies(r.right.backend);
      } finally {
        r.right.backend.dispose();
      }
    });
  }

  it('auto chooses native here and says the others were not tried', async () => {
    const r = await _.resolveBackend('auto');
    if (E.isLeft(r)) return expect.fail(formatError(r.left));
    try {
      expect(r.right.backend.name).toBe('native');
      expect(r.right.why).toBe('auto chose native; wasm and ts not tried (slower)');
    } finally {
      r.right.backend.dispose();
    }
  });
});
