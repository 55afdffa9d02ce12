/**
 * Benchmark of the native backend (a script, not a test), for a 784-1000-10 network at batch 128 (and 32):
 * 1. GFLOP/s of its GEMM (blocks of C, the GEMM library single-threaded on each) on 1 and 2 threads, against
 *    one whole call with the library's own threading on 1 and 2 threads; by wall time and per CPU-second.
 * 2. Bit identity: the backend on 1 vs 2 threads (must hold), the backend vs one whole single-threaded
 *    library call (holds on split-invariant kernels only, see gemm.c), the library on 1 vs 2 threads.
 * 3. The optimiser update of all 795,010 parameters with momentum: the C loops on 1 and 2 threads against
 *    the TypeScript loops (src/optim/kernels.ts), kernels alone and as a whole `move` step.
 * 4. The C element-wise kernels against the TypeScript ones.
 * 5. Whole training steps (descend) on 1 and 2 threads, at batch 32 and 128.
 * `--sweep` adds the GEMM at other block counts (how the default tunings were chosen).
 *
 * Run: npx tsc -p test/bench/tsconfig.json && node dist/test/bench/native-gemm.js [--sweep] [--library onednn|openblas]
 * (needs the addon: npm run build:native). OpenBLAS reads OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE at load time,
 * so compare kernels by setting or unsetting them for the whole command, e.g.
 * OPENBLAS_CORETYPE=Haswell node dist/test/bench/native-gemm.js
 * The machine may be shared: the load average is printed before and after, and every timing is given as
 * the median and the best round by wall time, and per CPU-second of all the process's threads (which other
 * processes disturb less; it cannot show a speedup from threads, only what each CPU-second achieves).
 */
import * as E from 'fp-ts/lib/Either.js';
import { loadavg } from 'node:os';
import seedrandom from 'seedrandom';
import { formatError } from '../../src/errors.js';
import { unwrap } from '../arb/network.js';
import { initNetwork } from '../../src/nn/init.js';
import type { Gradient } from '../../src/nn/gradient.js';
import { momentumUpdate } from '../../src/optim/kernels.js';
import { initialState, move } from '../../src/optim/move.js';
import { optimizer } from '../../src/optim/optimizer.js';
import type { LabeledBatch } from '../../src/stages/batch.js';
import { initialTrainState } from '../../src/optim/trainState.js';
import { stepOnce } from '../../src/stages/trainStep.js';
import type { Backend } from '../../src/tensor/backend.js';
import { matrix } from '../../src/tensor/matrix.js';
import { activationBackward, biasActivation, type PointwiseActivation } from '../../src/tensor/kernels.js';
import { loadAddon, type GemmLibrary, type NativeAddon, type NativeTuning } from '../../src/tensor/native/addon.js';
import { createTunedNativeBackend, nativeTuningFor } from '../../src/tensor/native/index.js';
import { tsBackend } from '../../src/tensor/registry.js';
import { timeRound, type GemmShape } from './common.js';

const orExit = <A>(e: E.Either<{ _tag: string; where: string; message: string; hint: string }, A>): A => {
  if (E.isLeft(e)) {
    console.error(formatError(e.left as Parameters<typeof formatError>[0]));
    process.exit(1);
  }
  return e.right;
};

const addon: NativeAddon = orExit(loadAddon()).addon;
const libArg = process.argv.indexOf('--library');
const lib = (libArg >= 0 ? process.argv[libArg + 1] : addon.gemmLibraries()[0]) as GemmLibrary;
const DEFAULT_TUNING = nativeTuningFor(lib);
const native = (threads: number, tuning: NativeTuning = DEFAULT_TUNING): Backend =>
  orExit(createTunedNativeBackend({ threads, gemmLibrary: lib }, tuning));

const rng = seedrandom('native-gemm bench');
const fill = (len: number): Float32Array => Float32Array.from({ length: len }, () => rng() * 2 - 1);

/**
 * Seconds per call over `rounds` rounds of at least `minSeconds` of wall time each: the median and the best
 * round by wall time (on a shared machine the best round is the one other processes disturbed least), and
 * the median of the process's CPU time (user + system, all threads).
 */
const timeIt = (f: () => void, rounds = 15, minSeconds = 0.1): { wall: number; best: number; cpu: number } => {
  for (let i = 0; i < 3; i++) f();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const c0 = process.cpuUsage();
    const { perCall, calls } = timeRound(f, minSeconds);
    const c = process.cpuUsage(c0);
    wall.push(perCall);
    cpu.push((c.user + c.system) / 1e6 / calls);
  }
  const median = (xs: number[]) => xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  return { wall: median(wall), best: Math.min(...wall), cpu: median(cpu) };
};


// The forward pass, the weight gradient and the output layer of 784-1000-10 at batch 128, then batch 32.
const SHAPES: readonly GemmShape[] = [
  { label: '(128x784)@(784x1000) NT', transA: false, transB: true, m: 128, n: 1000, k: 784 },
  { label: '(1000x128)@(128x784) TN', transA: true, transB: false, m: 1000, n: 784, k: 128 },
  { label: '(128x1000)@(1000x10) NN', transA: false, transB: false, m: 128, n: 10, k: 1000 },
  { label: '(32x784)@(784x1000) NT', transA: false, transB: true, m: 32, n: 1000, k: 784 },
  { label: '(1000x32)@(32x784) TN', transA: true, transB: false, m: 1000, n: 784, k: 32 },
];

const inputs = (s: GemmShape) => ({ a: fill(s.m * s.k), b: fill(s.k * s.n), c: new Float32Array(s.m * s.n) });
const gflops = (s: GemmShape, sec: number): string => ((2 * s.m * s.n * s.k) / sec / 1e9).toFixed(1).padStart(6);
/** GFLOP/s: median by wall time, best round, and per CPU-second. */
const figure = (s: GemmShape, t: { wall: number; best: number; cpu: number }): string => `${gflops(s, t.wall)} ${gflops(s, t.best)} ${gflops(s, t.cpu)}`;

const load = (): string => loadavg().map((x) => x.toFixed(2)).join(' ');
console.log(`load average (1, 5, 15 min) at start: ${load()}`);
console.log(`OPENBLAS_CORETYPE=${process.env['OPENBLAS_CORETYPE'] ?? '(unset)'} OPENBLAS_L2_SIZE=${process.env['OPENBLAS_L2_SIZE'] ?? '(unset)'}`);
const [one, two] = [native(1), native(2)];
console.log(two.description);

const handle = addon.createBackend(1, DEFAULT_TUNING, lib);
const blocksOf = (s: GemmShape): string => {
  const { byRows, blocks } = addon.gemmBlocks(handle, s.m, s.n, s.k);
  return blocks === 1 ? 'whole' : `${blocks} ${byRows ? 'row' : 'column'} blocks`;
};

console.log('\n1. sgemm GFLOP/s, each cell: median by wall time, best of 15 rounds by wall time, median per CPU-second');
console.log(`  ${'shape'.padEnd(26)} ${'blocks'.padEnd(16)} ${'gradpipe 1 thread'.padEnd(21)} ${'gradpipe 2 threads'.padEnd(21)} ${`${lib} 1 thread`.padEnd(21)} ${lib} 2 threads`);
for (const s of SHAPES) {
  const { a, b, c } = inputs(s);
  // interleaved, so that a burst of load elsewhere falls on every column alike
  const runs = [
    () => one.gemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, b, 0, c),
    () => two.gemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, b, 0, c),
    () => addon.wholeSgemm(lib, 1, s.transA, s.transB, s.m, s.n, s.k, 1, a, b, 0, c),
    () => addon.wholeSgemm(lib, 2, s.transA, s.transB, s.m, s.n, s.k, 1, a, b, 0, c),
  ];
  const times = runs.map(() => ({ wall: [] as number[], best: [] as number[], cpu: [] as number[] }));
  for (let round = 0; round < 3; round++) {
    runs.forEach((f, i) => {
      const t = timeIt(f, 5, 0.1);
      times[i]!.wall.push(t.wall);
      times[i]!.best.push(t.best);
      times[i]!.cpu.push(t.cpu);
    });
  }
  const med = (xs: number[]) => xs.sort((x, y) => x - y)[1]!;
  const cells = times.map((t) => figure(s, { wall: med(t.wall), best: Math.min(...t.best), cpu: med(t.cpu) }).padEnd(21));
  console.log(`  ${s.label.padEnd(26)} ${blocksOf(s).padEnd(16)} ${cells.join(' ')}`);
}

if (process.argv.includes('--sweep')) {
  console.log('\n   sweep: gradpipe on 2 threads / on 1 by the most blocks allowed, GFLOP/s (median, best, per CPU-second)');
  for (const s of SHAPES.slice(0, 2).concat(SHAPES.slice(3))) {
    const { a, b, c } = inputs(s);
    const cells = [2, 4, 8].map((maxBlocks) => {
      const tuning = { ...DEFAULT_TUNING, maxBlocks };
      const [b1, b2] = [native(1, tuning), native(2, tuning)];
      const [t1, t2] = [b1, b2].map((be) => timeIt(() => be.gemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, b, 0, c)));
      b1.dispose();
      b2.dispose();
      return `max ${maxBlocks}: ${figure(s, t2!)} / ${figure(s, t1!)}`;
    });
    console.log(`  ${s.label.padEnd(26)} ${cells.join('   ')}`);
  }
}

console.log('\n2. bit identity (elements that differ, of all; largest difference relative to max |C|)');
const compare = (x: Float32Array, y: Float32Array): string => {
  let differ = 0;
  let worst = 0;
  const largest = x.reduce((acc, v) => Math.max(acc, Math.abs(v)), 1e-30);
  for (let i = 0; i < x.length; i++) {
    if (!Object.is(x[i], y[i])) {
      differ++;
      worst = Math.max(worst, Math.abs(x[i]! - y[i]!) / largest);
    }
  }
  return differ === 0 ? 'identical' : `${differ} of ${x.length} differ (${worst.toExponential(1)})`;
};
console.log(`  ${'shape'.padEnd(26)} ${'gradpipe 1 vs 2 threads'.padEnd(26)} ${`gradpipe vs one ${lib} call`.padEnd(32)} ${lib} 1 vs 2 threads`);
for (const s of [...SHAPES, { label: '(96x300)@(300x80) NN', transA: false, transB: false, m: 96, n: 80, k: 300 }]) {
  const { a, b } = inputs(s);
  const run = (f: (c: Float32Array) => void) => {
    const c = new Float32Array(s.m * s.n);
    f(c);
    return c;
  };
  const [g1, g2] = [one, two].map((be) => run((c) => be.gemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, b, 0, c)));
  const [o1, o2] = [1, 2].map((t) => run((c) => addon.wholeSgemm(lib, t, s.transA, s.transB, s.m, s.n, s.k, 1, a, b, 0, c)));
  console.log(`  ${s.label.padEnd(26)} ${compare(g1!, g2!).padEnd(26)} ${compare(o1!, g1!).padEnd(32)} ${compare(o1!, o2!)}`);
}

console.log('\n3. momentum update of 784-1000-10 (795,010 parameters), ms per step: median by wall time, best, CPU');
{
  const net = unwrap(initNetwork({ sizes: [784, 1000, 10], hidden: 'relu', output: 'softmax' }, { kind: 'he' }, 1));
  const grad: Gradient = {
    layers: net.layers.map((l) => ({ weight: { ...l.weight, data: fill(l.weight.data.length) }, bias: fill(l.bias.length) })),
  };
  const tensors = net.layers.flatMap((l, i) => [
    { w: l.weight.data, g: grad.layers[i]!.weight.data },
    { w: l.bias, g: grad.layers[i]!.bias },
  ]);
  const buffers = tensors.map(({ w }) => ({ v: fill(w.length), w2: new Float32Array(w.length), v2: new Float32Array(w.length) }));
  const ms = (t: { wall: number; best: number; cpu: number }) => [t.wall, t.best, t.cpu].map((x) => (x * 1e3).toFixed(2)).join(' ').padEnd(17);
  const kernelStep = (f: typeof momentumUpdate) => () =>
    tensors.forEach(({ w, g }, i) => {
      const { v, w2, v2 } = buffers[i]!;
      f(w, g, v, 1, 1e-4, 0.01, 0.9, false, w2, v2);
    });
  const fused = (be: Backend) => be.optimizerUpdates!.momentum as typeof momentumUpdate;
  console.log(`  ${''.padEnd(34)} ${'C, 1 thread'.padEnd(17)} ${'C, 2 threads'.padEnd(17)} TypeScript`);
  console.log(`  ${'kernels (outputs preallocated)'.padEnd(34)} ${ms(timeIt(kernelStep(fused(one))))} ${ms(timeIt(kernelStep(fused(two))))} ${ms(timeIt(kernelStep(momentumUpdate)))}`);
  const config = unwrap(optimizer({ kind: 'momentum', lr: 0.01, momentum: 0.9, weightDecay: 1e-4 }));
  const state = initialState(config, net);
  const moveStep = (be: Backend) => {
    const step = move(config, be);
    return () => void step(net, grad, state);
  };
  console.log(`  ${'move() (allocates its outputs)'.padEnd(34)} ${ms(timeIt(moveStep(one)))} ${ms(timeIt(moveStep(two)))} ${ms(timeIt(moveStep(tsBackend)))}`);
}

console.log('\n4. element-wise on 128x1000, CPU microseconds per call (median): C addon vs TypeScript reference');
{
  const [rows, cols] = [128, 1000];
  const z = fill(rows * cols), bias = fill(cols), a = fill(rows * cols).map(Math.abs), out = new Float32Array(rows * cols);
  const acts: readonly PointwiseActivation[] = ['identity', 'relu', 'leaky-relu', 'sigmoid', 'tanh'];
  for (const act of acts) {
    const us = (f: () => void) => (timeIt(f, 5, 0.1).cpu * 1e6).toFixed(0).padStart(5);
    console.log(
      `  ${act.padEnd(10)} biasActivation ${us(() => one.biasActivation(z, bias, rows, cols, act, out))} vs ${us(() => biasActivation(z, bias, rows, cols, act, out))}` +
        `   activationBackward ${us(() => one.activationBackward(z, a, act, out))} vs ${us(() => activationBackward(z, a, act, out))}`,
    );
  }
}

console.log('\n5. training steps of 784-1000-10 (descend: forward, backprop, momentum) on random batches, samples/s: median by wall time, best, per CPU-second');
{
  const net = unwrap(initNetwork({ sizes: [784, 1000, 10], hidden: 'relu', output: 'softmax' }, { kind: 'he' }, 2));
  const config = unwrap(optimizer({ kind: 'momentum', lr: 0.01, momentum: 0.9 }));
  for (const rows of [32, 128]) {
    const batches = [0, 1, 2, 3].map((i): LabeledBatch => {
      const labels = Uint8Array.from({ length: rows }, () => Math.floor(rng() * 10));
      const targets = new Float32Array(rows * 10);
      labels.forEach((l, j) => (targets[j * 10 + l] = 1));
      const inputs = Float32Array.from({ length: rows * 784 }, () => rng());
      return { inputs: matrix(rows, 784, inputs), targets: matrix(rows, 10, targets), labels, indices: new Uint32Array(rows), epoch: 0, batchInEpoch: i, lastInEpoch: false };
    });
    const cells = [one, two].map((backend) => {
      const step = stepOnce({ loss: 'cross-entropy', optimizer: config, backend });
      let state = initialTrainState(net, config);
      let i = 0;
      const t = timeIt(() => void (state = step(state, batches[i++ % batches.length]!)), 15, 0.2);
      return [t.wall, t.best, t.cpu].map((x) => (rows / x).toFixed(0).padStart(6)).join(' ');
    });
    console.log(`  batch ${String(rows).padEnd(4)} 1 thread ${cells[0]}   2 threads ${cells[1]}`);
  }
}

[one, two].forEach((be) => be.dispose());
addon.dispose(handle);
console.log(`\nload average (1, 5, 15 min) at end: ${load()}`);
