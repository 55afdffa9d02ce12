/**
 * Benchmark of the native backend (a script, not a test): GFLOP/s of OpenBLAS sgemm through the addon for the
 * GEMMs of a 784-1000-10 network at batch 128, with 1 and with all threads; the C element-wise kernels against
 * the TypeScript ones; and whether GEMM results are bit-identical across thread counts.
 *
 * Run: npx tsc -p tsconfig.json && node dist/test/bench/native-gemm.js
 * (needs the addon: npm run build:native). OpenBLAS reads OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE at load time,
 * so compare kernels by setting or unsetting them for the whole command, e.g.
 * env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE node dist/test/bench/native-gemm.js
 */
import * as E from 'fp-ts/lib/Either.js';
import { availableParallelism } from 'node:os';
import seedrandom from 'seedrandom';
import { formatError } from '../../src/errors.js';
import type { Backend } from '../../src/tensor/backend.js';
import { activationBackward, biasActivation, type PointwiseActivation } from '../../src/tensor/kernels.js';
import { createNativeBackend } from '../../src/tensor/native/index.js';

const native = (threads: number): Backend => {
  const b = createNativeBackend({ threads });
  if (E.isLeft(b)) {
    console.error(formatError(b.left));
    process.exit(1);
  }
  return b.right;
};

const rng = seedrandom('native-gemm bench');
const fill = (len: number): Float32Array => Float32Array.from({ length: len }, () => rng() * 2 - 1);

/**
 * Median over `rounds` of the seconds per call, each round running at least `minSeconds` of wall time: wall
 * time, and the process's CPU time (user + system, all threads), which a busy machine disturbs less.
 */
const timeIt = (f: () => void, rounds = 5, minSeconds = 0.3): { wall: number; cpu: number } => {
  for (let i = 0; i < 3; i++) f();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let calls = 0;
    const t0 = process.hrtime.bigint();
    const c0 = process.cpuUsage();
    let dt = 0;
    do {
      f();
      calls++;
      dt = Number(process.hrtime.bigint() - t0) / 1e9;
    } while (dt < minSeconds);
    const c = process.cpuUsage(c0);
    wall.push(dt / calls);
    cpu.push((c.user + c.system) / 1e6 / calls);
  }
  const median = (xs: number[]) => xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  return { wall: median(wall), cpu: median(cpu) };
};

interface Shape {
  readonly label: string;
  readonly transA: boolean;
  readonly transB: boolean;
  readonly m: number;
  readonly n: number;
  readonly k: number;
}

// The forward pass, the weight gradient and the output layer of 784-1000-10 at batch 128.
const SHAPES: readonly Shape[] = [
  { label: '(128x784)@(784x1000) NT', transA: false, transB: true, m: 128, n: 1000, k: 784 },
  { label: '(1000x128)@(128x784) TN', transA: true, transB: false, m: 1000, n: 784, k: 128 },
  { label: '(128x1000)@(1000x10) NN', transA: false, transB: false, m: 128, n: 10, k: 1000 },
];

const inputs = (s: Shape) => ({ a: fill(s.m * s.k), b: fill(s.k * s.n), c: new Float32Array(s.m * s.n) });

const cores = availableParallelism();
const threadCounts = [...new Set([1, cores])];
console.log(`OPENBLAS_CORETYPE=${process.env['OPENBLAS_CORETYPE'] ?? '(unset)'} OPENBLAS_L2_SIZE=${process.env['OPENBLAS_L2_SIZE'] ?? '(unset)'}`);
console.log(native(1).description);

console.log('\nsgemm GFLOP/s by wall time, median of 5 (and per CPU-second of all threads):');
for (const s of SHAPES) {
  const { a, b, c } = inputs(s);
  const figures = threadCounts.map((t) => {
    const be = native(t);
    const { wall, cpu } = timeIt(() => be.gemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, b, 0, c));
    const gflops = (sec: number) => ((2 * s.m * s.n * s.k) / sec / 1e9).toFixed(1);
    return `${t} thread${t === 1 ? ' ' : 's'} ${gflops(wall).padStart(6)} (per CPU-second ${gflops(cpu).padStart(6)})`;
  });
  console.log(`  ${s.label.padEnd(26)} ${figures.join('   ')}`);
}

console.log('\nbit-identical results, 1 thread vs ' + cores + ' threads:');
for (const s of [...SHAPES, { label: '(96x300)@(300x80) NN', transA: false, transB: false, m: 96, n: 80, k: 300 }]) {
  const { a, b } = inputs(s);
  const run = (t: number) => {
    const c = new Float32Array(s.m * s.n);
    native(t).gemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, b, 0, c);
    return c;
  };
  const [x, y] = [run(1), run(cores)];
  let differ = 0;
  let worst = 0;
  const largest = x.reduce((acc, v) => Math.max(acc, Math.abs(v)), 1e-30);
  for (let i = 0; i < x.length; i++) {
    if (!Object.is(x[i], y[i])) {
      differ++;
      worst = Math.max(worst, Math.abs(x[i]! - y[i]!) / largest);
    }
  }
  const again = run(cores);
  const repeat = again.every((v, i) => Object.is(v, y[i]));
  console.log(
    `  ${s.label.padEnd(26)} ${differ === 0 ? 'identical' : `${differ} of ${x.length} differ (largest difference ${worst.toExponential(1)} of max |C|)`}; repeat call with ${cores} threads ${repeat ? 'identical' : 'DIFFERS'}`,
  );
}

console.log('\nelement-wise on 128x1000, CPU microseconds per call (median of 5): C addon vs TypeScript reference');
{
  const [rows, cols] = [128, 1000];
  const z = fill(rows * cols), bias = fill(cols), a = fill(rows * cols).map(Math.abs), out = new Float32Array(rows * cols);
  const be = native(1);
  const acts: readonly PointwiseActivation[] = ['identity', 'relu', 'leaky-relu', 'sigmoid', 'tanh'];
  for (const act of acts) {
    const us = (f: () => void) => (timeIt(f, 5, 0.1).cpu * 1e6).toFixed(0).padStart(5);
    console.log(
      `  ${act.padEnd(10)} biasActivation ${us(() => be.biasActivation(z, bias, rows, cols, act, out))} vs ${us(() => biasActivation(z, bias, rows, cols, act, out))}` +
        `   activationBackward ${us(() => be.activationBackward(z, a, act, out))} vs ${us(() => activationBackward(z, a, act, out))}`,
    );
  }
}
