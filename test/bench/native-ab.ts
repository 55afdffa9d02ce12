/**
 * A/B of native backend variants on whole training steps of 784-1000-10 (a script, not a test): each
 * variant is an addon build (its gemm and fused optimiser updates; the element-wise kernels are the built
 * addon's) and a tuning; the variants take turns in short bursts of steps, so that load
 * from other processes falls on all of them alike, and each reports the median milliseconds per step and
 * per step inside gemm calls (each call timed; also per GEMM shape).
 *
 * Run: npx tsc -p test/bench/tsconfig.json && node dist/test/bench/native-ab.js [--batch 128] [--bursts 30]
 *        [--threads 2] --variant 'label=addon.node:{"spinMicroseconds":500}' --variant 'label2=:{}'
 * An empty addon path means the built one (dist/native/); the JSON's "library" picks the GEMM library
 * (default: the best linked) and its other fields override that library's default tuning.
 * Keep a copy of the addon before a change (cp dist/native/gradpipe_native.node /tmp/before.node) to
 * compare builds in one process.
 */
import * as E from 'fp-ts/lib/Either.js';
import { loadavg } from 'node:os';
import seedrandom from 'seedrandom';
import { initNetwork } from '../../src/nn/init.js';
import { optimizer } from '../../src/optim/optimizer.js';
import type { LabeledBatch } from '../../src/stages/batch.js';
import { initialTrainState } from '../../src/optim/trainState.js';
import { stepOnce } from '../../src/stages/trainStep.js';
import type { Backend } from '../../src/tensor/backend.js';
import { matrix } from '../../src/tensor/matrix.js';
import { addonCandidates, loadAddon, type GemmLibrary, type NativeTuning } from '../../src/tensor/native/addon.js';
import { createTunedNativeBackend, nativeTuningFor } from '../../src/tensor/native/index.js';
import { unwrap } from '../arb/network.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const batch = opt('--batch', 128);
const bursts = opt('--bursts', 30);
const threads = opt('--threads', 2);
const STEPS_PER_BURST = 10;

const orExit = <A>(e: E.Either<{ message: string }, A>): A => {
  if (E.isLeft(e)) {
    console.error(e.left.message);
    process.exit(1);
  }
  return e.right;
};

interface Variant {
  readonly label: string;
  readonly backend: Backend;
  readonly gemmTimes: Map<string, number[]>; // per shape, microseconds per step
  readonly steps: number[];
  readonly gemm: number[];
}

/** The native backend's other kernels, with gemm and the updates from the variant's build on a handle of its own. */
const variant = (spec: string): Variant => {
  const eq = spec.indexOf('=');
  const colon = spec.indexOf(':', eq);
  const label = spec.slice(0, eq);
  const path = spec.slice(eq + 1, colon);
  const { library: wanted, ...fields } = JSON.parse(spec.slice(colon + 1)) as Partial<NativeTuning> & { library?: GemmLibrary };
  const { addon } = orExit(loadAddon(path === '' ? addonCandidates() : [path]));
  const library = wanted ?? addon.gemmLibraries()[0]!;
  const tuning: NativeTuning = { ...nativeTuningFor(library), ...fields };
  const base = orExit(createTunedNativeBackend({ threads, gemmLibrary: library }, tuning));
  const h = addon.createBackend(threads, tuning, library);
  const v: Variant = { label, backend: base, gemmTimes: new Map(), steps: [], gemm: [] };
  let inStep = new Map<string, number>();
  const backend: Backend = {
    ...base,
    gemm: (ta, tb, m, n, k, alpha, a, b, beta, c) => {
      const t0 = process.hrtime.bigint();
      addon.sgemm(h, ta, tb, m, n, k, alpha, a, b, beta, c);
      const key = `${ta ? 'T' : 'N'}${tb ? 'T' : 'N'} ${m}x${n}x${k}`;
      inStep.set(key, (inStep.get(key) ?? 0) + Number(process.hrtime.bigint() - t0) / 1e3);
    },
    optimizerUpdates: {
      sgd: (w, g, clip, decay, lr, w2) => addon.sgdUpdate(h, w, g, clip, decay, lr, w2),
      momentum: (w, g, v, clip, decay, lr, mu, nesterov, w2, v2) => addon.momentumUpdate(h, w, g, v, clip, decay, lr, mu, nesterov, w2, v2),
      adam: (w, g, m, s, clip, decay, lr, b1, b2, c1, c2, eps, w2, m2, s2) =>
        addon.adamUpdate(h, w, g, m, s, clip, decay, lr, b1, b2, c1, c2, eps, w2, m2, s2),
    },
    dispose: () => {
      addon.dispose(h);
      base.dispose();
    },
  };
  const net = unwrap(initNetwork({ sizes: [784, 1000, 10], hidden: 'relu', output: 'softmax' }, { kind: 'he' }, 2));
  const config = unwrap(optimizer({ kind: 'momentum', lr: 0.01, momentum: 0.9 }));
  const step = stepOnce({ loss: 'cross-entropy', optimizer: config, backend });
  let state = initialTrainState(net, config);
  let i = 0;
  return {
    ...v,
    backend,
    run: () => {
      inStep = new Map();
      const t0 = process.hrtime.bigint();
      state = step(state, batches[i++ % batches.length]!);
      v.steps.push(Number(process.hrtime.bigint() - t0) / 1e6);
      let sum = 0;
      for (const [key, us] of inStep) {
        v.gemmTimes.set(key, [...(v.gemmTimes.get(key) ?? []), us]);
        sum += us;
      }
      v.gemm.push(sum / 1e3);
    },
  } as Variant & { run: () => void };
};

const rng = seedrandom('native-ab bench');
const batches = [0, 1, 2, 3].map((i): LabeledBatch => {
  const labels = Uint8Array.from({ length: batch }, () => Math.floor(rng() * 10));
  const targets = new Float32Array(batch * 10);
  labels.forEach((l, j) => (targets[j * 10 + l] = 1));
  const inputs = Float32Array.from({ length: batch * 784 }, () => rng());
  return { inputs: matrix(batch, 784, inputs), targets: matrix(batch, 10, targets), labels, indices: new Uint32Array(batch), epoch: 0, batchInEpoch: i, lastInEpoch: false };
});

const specs = args.flatMap((a, i) => (args[i - 1] === '--variant' ? [a] : []));
if (specs.length === 0) specs.push('built=:{}');
const variants = specs.map(variant) as (Variant & { run: () => void })[];
const pause = new Int32Array(new SharedArrayBuffer(4));
console.log(`load average at start: ${loadavg().map((x) => x.toFixed(2)).join(' ')}; batch ${batch}, ${threads} threads, ${bursts} bursts of ${STEPS_PER_BURST} steps per variant`);
for (const v of variants) for (let s = 0; s < 5; s++) v.run(); // warm-up
for (const v of variants) {
  v.steps.length = 0;
  v.gemm.length = 0;
  v.gemmTimes.clear();
}
for (let b = 0; b < bursts; b++) {
  for (const v of variants) {
    Atomics.wait(pause, 0, 0, 5); // lets the previous variant's polling threads go to sleep
    for (let s = 0; s < STEPS_PER_BURST; s++) v.run();
  }
}
const median = (xs: readonly number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
for (const v of variants) {
  const shapes = [...v.gemmTimes].map(([k, us]) => `${k} ${median(us).toFixed(0)}us`).join(', ');
  console.log(`${v.label.padEnd(16)} step ${median(v.steps).toFixed(2)} ms, gemm ${median(v.gemm).toFixed(2)} ms  (${shapes})`);
  v.backend.dispose();
}
console.log(`load average at end: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
