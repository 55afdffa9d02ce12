/**
 * The five GEMMs of a 784-1000-10 training step, gradpipe's native backend against numpy doing the same
 * products (test/bench/numpy_gemm.py, numpy's own OpenBLAS), on 1 and 2 threads, side by side (a script,
 * not a test). Rounds alternate between the two processes so that load elsewhere falls on both alike.
 * Then the fixed costs: a 4x4x4 call through Node-API, and the pool's hand-off to a worker that is polling
 * (back-to-back calls) or asleep (calls 2 ms apart).
 *
 * Run: npx tsc -p test/bench/tsconfig.json && node dist/test/bench/native-shapes.js [--batch 128] [--rounds 3]
 *        [--library onednn|openblas] [--addon other.node] [--tuning '{"rowUnit":48}']
 * (needs the addon, npm run build:native, and python3 with numpy; PYTHON picks another interpreter).
 * --addon times another build's sgemm in the gradpipe columns (e.g. a copy kept from before a change),
 * --library picks the GEMM library of the gradpipe columns (default: the best linked), --tuning overrides
 * fields of that library's default tuning for them. The "sys" columns are one whole single-threaded call of
 * each linked library.
 * Figures are GFLOP/s, the median of all rounds by wall time; the load average is printed before and after.
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import seedrandom from 'seedrandom';
import { loadAddon, type GemmLibrary, type NativeTuning } from '../../src/tensor/native/addon.js';
import { nativeTuningFor } from '../../src/tensor/native/index.js';
import type { Backend } from '../../src/tensor/backend.js';
import { timeRound, type GemmShape } from './common.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const batch = arg('--batch', 128);
const argText = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const addonPath = argText('--addon');
const rounds = arg('--rounds', 3);

const unwrapOr = <A>(e: E.Either<{ message: string }, A>): A => {
  if (E.isLeft(e)) {
    console.error(e.left.message);
    process.exit(1);
  }
  return e.right;
};
const addon = unwrapOr(loadAddon(addonPath === undefined ? undefined : [addonPath])).addon;
const libraries = addon.gemmLibraries();
const library = (argText('--library') ?? libraries[0]) as GemmLibrary;
const tuning: NativeTuning = { ...nativeTuningFor(library), ...(JSON.parse(argText('--tuning') ?? '{}') as Partial<NativeTuning>) };

// Labels match numpy_gemm.py's.
const SHAPES: readonly GemmShape[] = [
  { label: 'fwd1 NT', transA: false, transB: true, m: batch, n: 1000, k: 784 },
  { label: 'fwd2 NT', transA: false, transB: true, m: batch, n: 10, k: 1000 },
  { label: 'dW2 TN', transA: true, transB: false, m: 10, n: 1000, k: batch },
  { label: 'dA NN', transA: false, transB: false, m: batch, n: 1000, k: 10 },
  { label: 'dW1 TN', transA: true, transB: false, m: 1000, n: 784, k: batch },
  { label: 'tiny 4x4x4', transA: false, transB: false, m: 4, n: 4, k: 4 },
];

const rng = seedrandom('native-shapes bench');
const fill = (len: number): Float32Array => Float32Array.from({ length: len }, () => rng() * 2 - 1);
const median = (xs: readonly number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;

/** Seconds per call in each of `n` rounds of at least `minSeconds`. */
const timeRounds = (f: () => void, n: number, minSeconds = 0.1): number[] => {
  for (let i = 0; i < 3; i++) f();
  const out: number[] = [];
  for (let r = 0; r < n; r++) out.push(timeRound(f, minSeconds).perCall);
  return out;
};

const python = process.env['PYTHON'] ?? 'python3';
const script = fileURLToPath(new URL('../../../test/bench/numpy_gemm.py', import.meta.url));
interface NumpyRun {
  readonly blas: string;
  readonly core: string;
  readonly shapes: Record<string, number[]>;
}
const numpyRound = (threads: number): NumpyRun | undefined => {
  const r = spawnSync(python, [script, String(batch), '5', '0.1'], {
    encoding: 'utf8',
    env: { ...process.env, OPENBLAS_NUM_THREADS: String(threads) },
  });
  if (r.status !== 0) {
    console.error(`numpy skipped: ${(r.stderr || r.error?.message || '').split('\n').slice(-2).join(' ')}`);
    return undefined;
  }
  return JSON.parse(r.stdout) as NumpyRun;
};

const load = (): string => loadavg().map((x) => x.toFixed(2)).join(' ');
console.log(`load average at start: ${load()}`);
type Gemmer = Pick<Backend, 'gemm' | 'dispose'>;
/** The addon's sgemm on a pool of its own (the addon may be another build than the backend's). */
const pooled = (threads: number, t: NativeTuning): Gemmer => {
  const h = addon.createBackend(threads, t, library);
  return { gemm: (...args: Parameters<Backend['gemm']>) => addon.sgemm(h, ...args), dispose: () => addon.dispose(h) };
};
const [one, two] = [pooled(1, tuning), pooled(2, tuning)];
console.log(`addon ${addonPath ?? '(built)'}, gradpipe columns: ${addon.gemmInfo(library)}, tuning ${JSON.stringify(tuning)}`);

const sysColumn = (lib: GemmLibrary) => `sys ${lib} 1t`;
const COLUMNS: readonly string[] = ['gradpipe 1t', 'gradpipe 2t', 'numpy 1t', 'numpy 2t', ...libraries.map(sysColumn)];
type Column = string;
const times = new Map<string, number[]>();
const add = (shape: string, col: Column, xs: readonly number[]) => {
  const key = `${shape}|${col}`;
  times.set(key, [...(times.get(key) ?? []), ...xs]);
};
const bufs = SHAPES.map((s) => ({ a: fill(s.m * s.k), b: fill(s.k * s.n), c: new Float32Array(s.m * s.n) }));
let numpyBlas = '';
for (let round = 0; round < rounds; round++) {
  SHAPES.forEach((s, i) => {
    const { a, b, c } = bufs[i]!;
    add(s.label, 'gradpipe 1t', timeRounds(() => one.gemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, b, 0, c), 5));
    add(s.label, 'gradpipe 2t', timeRounds(() => two.gemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, b, 0, c), 5));
    for (const lib of libraries) add(s.label, sysColumn(lib), timeRounds(() => addon.wholeSgemm(lib, 1, s.transA, s.transB, s.m, s.n, s.k, 1, a, b, 0, c), 5));
  });
  for (const t of [1, 2]) {
    const run = numpyRound(t);
    if (run === undefined) continue;
    numpyBlas = `${run.blas.trim()} (core ${run.core.trim()})`;
    for (const [label, xs] of Object.entries(run.shapes)) add(label, t === 1 ? 'numpy 1t' : 'numpy 2t', xs);
  }
}
console.log(`numpy: ${numpyBlas}`);
console.log(`\nGEMM at batch ${batch}, GFLOP/s (median of ${rounds} x 5 rounds; tiny: microseconds per call)`);
console.log(`  ${'shape'.padEnd(12)} ${'m n k'.padEnd(16)} ${'blocks'.padEnd(9)} ${COLUMNS.map((c) => c.padStart(15)).join(' ')}`);
const handle = addon.createBackend(1, tuning, library);
let stepSeconds = { g2: 0, n2: 0, g1: 0, n1: 0 };
for (const s of SHAPES) {
  const flops = 2 * s.m * s.n * s.k;
  const tiny = s.label.startsWith('tiny');
  const cells = COLUMNS.map((col) => {
    const xs = times.get(`${s.label}|${col}`);
    if (xs === undefined) return '-'.padStart(15);
    const t = median(xs);
    if (!tiny) {
      if (col === 'gradpipe 2t') stepSeconds.g2 += t;
      if (col === 'numpy 2t') stepSeconds.n2 += t;
      if (col === 'gradpipe 1t') stepSeconds.g1 += t;
      if (col === 'numpy 1t') stepSeconds.n1 += t;
    }
    return (tiny ? `${(t * 1e6).toFixed(2)} us` : (flops / t / 1e9).toFixed(1)).padStart(15);
  });
  const { byRows, blocks, serial } = addon.gemmBlocks(handle, s.m, s.n, s.k);
  const blk = blocks === 1 ? 'whole' : `${blocks} ${byRows ? 'rows' : 'cols'}${serial ? ' 1t' : ''}`;
  console.log(`  ${s.label.padEnd(12)} ${`${s.m} ${s.n} ${s.k}`.padEnd(16)} ${blk.padEnd(9)} ${cells.join(' ')}`);
}
addon.dispose(handle);
const ms = (x: number) => (x * 1e3).toFixed(2);
console.log(`  sum of the five, ms: gradpipe 1t ${ms(stepSeconds.g1)}  2t ${ms(stepSeconds.g2)}   numpy 1t ${ms(stepSeconds.n1)}  2t ${ms(stepSeconds.n2)}`);

console.log('\nfixed costs, microseconds per call (median of 5 rounds)');
{
  const a = fill(64 * 64), b = fill(64 * 64), c = new Float32Array(64 * 64);
  const us = (xs: readonly number[]) => (median(xs) * 1e6).toFixed(2).padStart(8);
  const gap = new Int32Array(new SharedArrayBuffer(4));
  /** Per call with `gapMs` of sleep before each call (not timed), so a polling worker has gone to sleep. */
  const spaced = (f: () => void, gapMs: number): number[] => {
    const out: number[] = [];
    for (let r = 0; r < 5; r++) {
      const each: number[] = [];
      for (let i = 0; i < 200; i++) {
        Atomics.wait(gap, 0, 0, gapMs);
        const t0 = process.hrtime.bigint();
        f();
        each.push(Number(process.hrtime.bigint() - t0) / 1e9);
      }
      out.push(median(each));
    }
    return out;
  };
  console.log(`  4x4x4 sgemm through Node-API, 1-thread backend: ${us(timeRounds(() => one.gemm(false, false, 4, 4, 4, 1, a, b, 0, c), 5))}`);
  console.log(`  4x4x4 sgemm through Node-API, 2-thread backend: ${us(timeRounds(() => two.gemm(false, false, 4, 4, 4, 1, a, b, 0, c), 5))}`);
  for (const lib of libraries) console.log(`  4x4x4 ${lib} call through Node-API:`.padEnd(50) + us(timeRounds(() => addon.wholeSgemm(lib, 1, false, false, 4, 4, 4, 1, a, b, 0, c), 5)));
  // 64x64x64 cut into 2 row blocks, on 1 thread (both blocks on the caller) and on 2 (one handed off).
  const split: NativeTuning = { ...tuning, gemmBlockFlops: 1, maxBlocks: 2, rowUnit: 16, smallBlockFlops: 0, smallMinK: 0, serialFlops: 0 };
  const [s1, s2] = [pooled(1, split), pooled(2, split)];
  const g = (be: Gemmer) => () => be.gemm(false, false, 64, 64, 64, 1, a, b, 0, c);
  console.log(`  64x64x64 in 2 blocks, back to back:  1 thread ${us(timeRounds(g(s1), 5))}   2 threads ${us(timeRounds(g(s2), 5))}`);
  console.log(`  64x64x64 in 2 blocks, 2 ms apart:    1 thread ${us(spaced(g(s1), 2))}   2 threads ${us(spaced(g(s2), 2))}`);
  s1.dispose();
  s2.dispose();
}
[one, two].forEach((be) => be.dispose());
console.log(`\nload average at end: ${load()}`);
