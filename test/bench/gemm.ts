/**
 * GEMM benchmark of the ts and wasm backends (a script that prints measurements, not a test): GFLOP/s for the
 * four products of a 784-1000-10 network's training step at batch 128, for the TypeScript reference and wasm
 * on 1 and 2 threads, its plain SIMD build and its relaxed-SIMD FMA build, side by side; whether 1 and 2
 * threads give the same bits (per build); what share of a wasm call the copies in and out of the wasm memory
 * take; and the element-wise kernels (FMA build, which shares them with the plain one).
 *
 * Run: npm run bench:gemm (compiles with test/bench/tsconfig.json, rebuilds the .wasm, runs this from dist/,
 * which is also a check that the wasm backend's workers start from the compiled package).
 *
 * Each figure is the median over ROUNDS rounds of the mean time per call within a round of at least
 * ROUND_SECONDS (contenders interleaved round by round), with the best round in brackets: on a machine
 * where other processes compete for the cores the best round is the closer to what the code can do.
 */
import * as E from 'fp-ts/lib/Either.js';
import { availableParallelism, cpus, loadavg } from 'node:os';
import seedrandom from 'seedrandom';
import { formatError } from '../../src/errors.js';
import type { Backend } from '../../src/tensor/backend.js';
import { activationBackward, biasActivation, type PointwiseActivation } from '../../src/tensor/kernels.js';
import { gemmTs } from '../../src/tensor/ts.js';
import { createWasmBackend } from '../../src/tensor/wasm/index.js';
import { timeRound, type GemmShape } from './common.js';

const ROUNDS = 25;
const ROUND_SECONDS = 0.02;


const SHAPES: readonly GemmShape[] = [
  { label: 'NT (128x784)@(784x1000)  forward, hidden', transA: false, transB: true, m: 128, n: 1000, k: 784 },
  { label: 'TN (1000x128)@(128x784)  dW, hidden', transA: true, transB: false, m: 1000, n: 784, k: 128 },
  { label: 'NT (128x1000)@(1000x10)  forward, output', transA: false, transB: true, m: 128, n: 10, k: 1000 },
  { label: 'NN (128x10)@(10x1000)    dX, output', transA: false, transB: false, m: 128, n: 1000, k: 10 },
];

const rng = seedrandom('gemm bench');
const fill = (len: number): Float32Array => Float32Array.from({ length: len }, () => rng() * 2 - 1);

interface Timing {
  /** Median seconds per call. */
  readonly median: number;
  /** Seconds per call in the fastest round. */
  readonly best: number;
}

/** Seconds per call of `f` over one round. */
const round = (f: () => void): number => timeRound(f, ROUND_SECONDS).perCall;

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
};

/** Seconds per call of each contender, rounds interleaved so that a busy spell hits all alike. */
const race = (contenders: readonly (() => void)[]): Timing[] => {
  for (const f of contenders) for (let i = 0; i < 2; i++) f();
  const samples = contenders.map((): number[] => []);
  for (let r = 0; r < ROUNDS; r++) contenders.forEach((f, i) => samples[i]!.push(round(f)));
  return samples.map((s) => ({ median: median(s), best: Math.min(...s) }));
};

const wasm = async (threads: number, fma: boolean): Promise<Backend> => {
  const b = await createWasmBackend({ threads, fma });
  if (E.isLeft(b)) {
    console.error(formatError(b.left));
    process.exit(1);
  }
  return b.right;
};

const sameBits = (x: Float32Array, y: Float32Array): boolean =>
  Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from(y.buffer, y.byteOffset, y.byteLength));

const pad = (s: string, n: number): string => s.padStart(n);

const main = async (): Promise<void> => {
  const [plain1, plain2, one, two] = [await wasm(1, false), await wasm(2, false), await wasm(1, true), await wasm(2, true)];
  console.log(`gradpipe GEMM benchmark: float32 GFLOP/s, median of ${ROUNDS} rounds (best round in brackets)`);
  console.log(
    `node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores, ` +
      `load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} at start`,
  );
  console.log(`${plain2.description}\n${two.description}\n`);
  if (!two.description.includes('FMA')) console.log('(relaxed SIMD unavailable: the FMA columns run the plain build)\n');
  console.log(
    `${'shape'.padEnd(42)}${pad('ts', 12)}${pad('simd 1t', 14)}${pad('simd 2t', 14)}${pad('fma 1t', 14)}${pad('fma 2t', 14)}` +
      `  bits 1t = 2t (simd/fma)  copies (fma 1t/2t)`,
  );

  // The wasm contenders first, the ts reference after them all: gemmTs allocates ~7 MB of float64 panels
  // per call, and the garbage collector's helper threads would otherwise compete with the wasm workers.
  const rowsOut: { s: GemmShape; p1: Timing; p2: Timing; w1: Timing; w2: Timing; copy: Timing; samePlain: boolean; same: boolean }[] = [];
  for (const s of SHAPES) {
    const { transA, transB, m, n, k } = s;
    const a = fill(m * k), b = fill(k * n);
    const [d1, d2, c1, c2] = Array.from({ length: 4 }, () => new Float32Array(m * n)) as [Float32Array, Float32Array, Float32Array, Float32Array];
    const [p1, p2, w1, w2] = race([
      () => plain1.gemm(transA, transB, m, n, k, 1, a, b, 0, d1),
      () => plain2.gemm(transA, transB, m, n, k, 1, a, b, 0, d2),
      () => one.gemm(transA, transB, m, n, k, 1, a, b, 0, c1),
      () => two.gemm(transA, transB, m, n, k, 1, a, b, 0, c2),
    ]) as [Timing, Timing, Timing, Timing];
    // What the wasm backend copies per call: A and B into its shared memory, C out (beta = 0).
    const shared = new Float32Array(new SharedArrayBuffer(4 * (m * k + k * n + m * n)));
    const back = new Float32Array(m * n);
    const [copy] = race([
      () => {
        shared.set(a, 0);
        shared.set(b, m * k);
        back.set(shared.subarray(m * k + k * n));
      },
    ]) as [Timing];
    rowsOut.push({ s, p1, p2, w1, w2, copy, samePlain: sameBits(d1, d2), same: sameBits(c1, c2) });
  }
  for (const { s, p1, p2, w1, w2, copy, samePlain, same } of rowsOut) {
    const { transA, transB, m, n, k } = s;
    const a = fill(m * k), b = fill(k * n), c = new Float32Array(m * n);
    const [ts] = race([() => gemmTs(transA, transB, m, n, k, 1, a, b, 0, c)]) as [Timing];
    const flop = 2 * m * n * k;
    const gf = (t: Timing): string => `${(flop / t.median / 1e9).toFixed(1)} (${(flop / t.best / 1e9).toFixed(1)})`;
    const share = (t: Timing): string => `${((100 * copy.median) / t.median).toFixed(0)}%`;
    const yes = (b: boolean): string => (b ? 'yes' : 'NO');
    console.log(
      `${s.label.padEnd(42)}${pad(gf(ts), 12)}${pad(gf(p1), 14)}${pad(gf(p2), 14)}${pad(gf(w1), 14)}${pad(gf(w2), 14)}  ` +
        `${yes(samePlain)} / ${yes(same)}`.padEnd(24) + `${share(w1)} / ${share(w2)}`,
    );
  }

  const [rows, cols] = [128, 1000];
  const z = fill(rows * cols).map((x) => 4 * x), bias = fill(cols), out = new Float32Array(rows * cols);
  console.log(`\nelement-wise kernels on ${rows}x${cols}, median microseconds per call: ts / wasm 1 thread / wasm 2 threads`);
  const acts: readonly PointwiseActivation[] = ['relu', 'sigmoid', 'tanh'];
  for (const act of acts) {
    const fwd = race([
      () => biasActivation(z, bias, rows, cols, act, out),
      () => one.biasActivation(z, bias, rows, cols, act, out),
      () => two.biasActivation(z, bias, rows, cols, act, out),
    ]);
    const a = new Float32Array(rows * cols);
    biasActivation(z, bias, rows, cols, act, a);
    const bwd = race([
      () => activationBackward(z, a, act, out),
      () => one.activationBackward(z, a, act, out),
      () => two.activationBackward(z, a, act, out),
    ]);
    const us = (ts: Timing[]): string => ts.map((t) => (t.median * 1e6).toFixed(0)).join(' / ');
    console.log(`  biasActivation ${act.padEnd(8)} ${us(fwd).padEnd(20)} activationBackward ${act.padEnd(8)} ${us(bwd)}`);
  }
  for (const b of [plain1, plain2, one, two]) b.dispose();
};

await main();
