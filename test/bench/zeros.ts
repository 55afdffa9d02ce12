/**
 * What skipping zeros saves in the first layer's two big products (a script, not a test): the forward
 * product X W1^T (NT) and the weight gradient dZ^T X / B (TN) of a 784-1000-10 network, X a batch of real
 * MNIST pixels (scaled to [0, 1], about 80% zeros), W1 dense, dZ with half its entries zero (as after a
 * ReLU), at batch 32 and 128 (or --batches). The native backend with its zero-skipping kernel always taking
 * the product (tuning zeroSkipDensity 1) against its library alone (0), and the wasm backend with zero skipping (the default) against
 * every step run (skipZeros false), each pair alternating in one process. Microseconds per call, the median
 * of --rounds rounds of 200 calls. Also prints the share of steps the lists keep.
 *
 * Run: npx tsc -p test/bench/tsconfig.json && node dist/test/bench/zeros.js [--rounds 5] [--batches 32,128]
 * [--backends native,wasm]
 */
import * as E from 'fp-ts/lib/Either.js';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { loadMnist } from '../../src/data/dataset.js';
import type { Backend } from '../../src/tensor/backend.js';
import { createTunedNativeBackend, nativeTuningFor } from '../../src/tensor/native/index.js';
import { createTunedWasmBackend, DEFAULT_TUNING } from '../../src/tensor/wasm/index.js';
import { median, MNIST_DIR } from './common.js';
import { formatTable } from './table.js';

const { values: opt } = parseArgs({
  options: { rounds: { type: 'string', default: '5' }, batches: { type: 'string', default: '32,128' }, backends: { type: 'string', default: 'native,wasm' } },
  strict: true,
});
const rounds = Math.max(1, Number(opt.rounds));
const batches = opt.batches.split(',').map(Number);
const backends = opt.backends.split(',');

const data = await loadMnist(MNIST_DIR);
if (E.isLeft(data)) throw new Error(data.left.message);
const images = data.right.train.images as Uint8Array;

const must = <T>(r: E.Either<{ readonly message: string }, T>): T => {
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
};
const pairs: (readonly [string, Backend, Backend])[] = [];
if (backends.includes('native')) {
  pairs.push(['native, 2 threads', must(createTunedNativeBackend({ threads: 2 }, (lib) => ({ ...nativeTuningFor(lib), zeroSkipDensity: 0 }))),
    must(createTunedNativeBackend({ threads: 2 }, (lib) => ({ ...nativeTuningFor(lib), zeroSkipDensity: 1 })))]);
}
if (backends.includes('wasm')) {
  pairs.push(['wasm, 2 threads', must(await createTunedWasmBackend({ threads: 2 }, { ...DEFAULT_TUNING, skipZeros: false })),
    must(await createTunedWasmBackend({ threads: 2 }, DEFAULT_TUNING))]);
}

/** Microseconds per call of f, after 20 calls of warm-up. */
const time = (f: () => void): number => {
  for (let i = 0; i < 20; i++) f();
  const t = performance.now();
  for (let i = 0; i < 200; i++) f();
  return ((performance.now() - t) / 200) * 1000;
};

/** The share of 6-row panel steps of x (rows x 784) that hold a nonzero pixel (zgemm.c's lists). */
const kept = (x: Float32Array, rows: number): number => {
  let n = 0;
  let all = 0;
  for (let i0 = 0; i0 < rows; i0 += 6)
    for (let p = 0; p < 784; p++) {
      all++;
      for (let r = i0; r < Math.min(rows, i0 + 6); r++) if (x[r * 784 + p] !== 0) { n++; break; }
    }
  return n / all;
};

console.log(`load average at start: ${loadavg().map((l) => l.toFixed(2)).join(', ')}`);
const rows: string[][] = [];
for (const batch of batches) {
  // every 97th training image: a spread of digits, as a shuffled batch would have
  const x = new Float32Array(batch * 784);
  for (let i = 0; i < batch; i++) for (let p = 0; p < 784; p++) x[i * 784 + p] = images[i * 97 * 784 + p]! / 255;
  const w = Float32Array.from({ length: 1000 * 784 }, (_, i) => Math.sin(i) * 0.05);
  const dz = Float32Array.from({ length: batch * 1000 }, (_, i) => (Math.sin(i * 3.1) > 0 ? Math.sin(i) * 0.01 : 0));
  const out = new Float32Array(1000 * 784);
  const products = [
    ['forward X W1^T', (b: Backend) => b.gemm(false, true, batch, 1000, 784, 1, x, w, 0, out)],
    ['weight gradient dZ^T X / B', (b: Backend) => b.gemm(true, false, 1000, 784, batch, 1 / batch, dz, x, 0, out)],
  ] as const;
  for (const [name, f] of products) {
    for (const [label, every, skipping] of pairs) {
      const plain: number[] = [];
      const skipped: number[] = [];
      for (let r = 0; r < rounds; r++) {
        plain.push(time(() => f(every)));
        skipped.push(time(() => f(skipping)));
      }
      const [p, s] = [median(plain), median(skipped)];
      rows.push([String(batch), name, label, p.toFixed(0), s.toFixed(0), `x${(p / s).toFixed(2)}`, `${(100 * kept(x, batch)).toFixed(0)}%`]);
    }
  }
}
console.log(
  formatTable(['batch', 'product', 'backend', 'every step (us)', 'zeros skipped (us)', 'speed-up', 'pixel panel steps kept'], rows),
);
console.log(`load average at the end: ${loadavg().map((l) => l.toFixed(2)).join(', ')}`);
for (const [, a, b] of pairs) a.dispose(), b.dispose();
process.exit(0);
