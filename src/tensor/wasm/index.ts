/**
 * The `wasm` backend: GEMM, the element-wise kernels and the optimiser updates in WebAssembly SIMD (compiled
 * from `assembly/` by AssemblyScript at install), on all cores through worker threads sharing one memory.
 * Where the engine accepts relaxed SIMD (Node 20 once its V8 flag is set, which this does at load), the GEMM
 * runs a build whose micro-kernel fuses its multiply-adds: about 1.2-1.3x the plain build's GFLOP/s on the
 * layer shapes (npm run bench:gemm). The other kernels are the same code in both builds, with the same bits.
 *
 * Operands in the JS heap are copied into the shared memory and the result back out (a memcpy each: 2-3% of
 * a layer-sized GEMM, about half of a fused optimiser update). Buffers from `alloc` live in the shared
 * memory itself and are used in place: a training step that takes its parameters, moments, activations and
 * gradients from there copies only its input batch. Small
 * jobs stay on the calling thread, where waking the workers would cost more than it saves; larger ones are
 * cut into blocks that threads claim as they come (assembly/sync.ts), so a worker that wakes late or is
 * preempted delays nothing.
 *
 * Determinism: the output is split between threads (blocks of rows or of column panels of C), never the
 * reduction, and each element is computed by the same lane code in the same order wherever it lands, so the
 * bits do not depend on the thread count or on which thread took which block (for one build: the FMA and
 * plain builds differ in the last bits).
 */
import * as E from 'fp-ts/lib/Either.js';
import { cores, envVar } from '#platform/wasm.js';
import { MAX_THREADS, threadsError, validThreads, type Backend, type OptimizerUpdates } from '../backend.js';
import { optionError, type GradpipeError } from '../../errors.js';
import type { PointwiseActivation } from '../kernels.js';
import { rangeFromBits } from '../reduce.js';
import { loadRelaxedWasmModule, loadWasmModule } from './module.js';
import { startPool, type WasmPool } from './pool.js';

export interface WasmBackendOptions {
  /** Threads to compute on, the calling one included, 1 to 64 (default: all cores, at most 64: os.availableParallelism() in Node, navigator.hardwareConcurrency in a browser). */
  readonly threads?: number;
  /**
   * Whether the GEMM may use the relaxed-SIMD build (fused multiply-add) when the engine accepts it
   * (default: true, unless the environment variable GRADPIPE_WASM_FMA is `0`); false forces the plain build.
   * Its products differ from the plain build's in the last bits (one rounding per step instead of two).
   */
  readonly fma?: boolean;
}

/** Activation codes shared with assembly/elementwise.ts. */
const ACT_CODE: Readonly<Record<PointwiseActivation, number>> = {
  identity: 0,
  relu: 1,
  'leaky-relu': 2,
  sigmoid: 3,
  tanh: 4,
};

/** Where work is split between threads, and how long a thread polls before it sleeps. */
export interface WasmTuning {
  /** GEMMs below this many flops (2 m n k) run on the calling thread alone. */
  readonly parallelGemmFlops: number;
  /**
   * Element-wise jobs below this much work run on the calling thread alone; work is the element count,
   * times EXPENSIVE_ACTIVATION for a forward sigmoid or tanh (an exp and a division per element).
   */
  readonly parallelElements: number;
  /**
   * Polls of a sync word before a thread sleeps on it: bridges back-to-back jobs, and the wait for the
   * shared operand or for the last blocks, without an OS wake-up (tens of microseconds, more on a busy VM).
   */
  readonly spin: number;
  /**
   * Whether the GEMM skips the steps where an operand's panel is zero (default true): the same bits either
   * way (assembly/gemm.ts); false runs every step (tests compare the two, benchmarks time both).
   */
  readonly skipZeros?: boolean;
}

/**
 * Measured on 2 cores (a Firecracker VM, AMD EPYC): a second thread pays from about 16 MFLOP up (below, the
 * cross-core traffic of the operands and C, and waking the worker, cost more than half the work saves);
 * cheap element-wise kernels only pay from about a million elements. A worker polls ~2^18 times (a few
 * hundred microseconds) after each job, so back-to-back calls find it awake, at the price of that much CPU
 * after the last call.
 */
export const DEFAULT_TUNING: WasmTuning = { parallelGemmFlops: 16e6, parallelElements: 1 << 20, spin: 1 << 18 };

/** How much dearer a forward sigmoid or tanh is per element than the piecewise-linear kernels (measured: ~16x). */
const EXPENSIVE_ACTIVATION = 16;
const isExpensive = (act: PointwiseActivation): boolean => act === 'sigmoid' || act === 'tanh';

/**
 * How much dearer an optimiser update is per element than the cheap element-wise kernels, and Adam (two
 * double divisions and a square root) than the others. Measured on 2 cores, kernel alone: momentum over
 * 794k values 0.68 ms on 1 thread, 0.41 on 2 (0.22 / 0.11 over 262k); Adam 2.7 / 1.35 (0.22 / 0.11 over 65k).
 */
const UPDATE_WORK = 4;
const ADAM_WORK = 16;
/** Rule codes shared with assembly/optimizer.ts. */
const SGD = 0, MOMENTUM = 1, NESTEROV = 2, ADAM = 3;

const F32 = 4;
// MAX_THREADS (backend.ts, 64) is also the per-thread scratch the wasm control block has room for (assembly/layout.ts)

const checkDims = (op: string, dims: Readonly<Record<string, number>>): void => {
  for (const [name, d] of Object.entries(dims)) {
    if (!Number.isInteger(d) || d < 0) throw new RangeError(`${op}: ${name} must be a non-negative integer, got ${d}`);
  }
};

const checkLength = (op: string, name: string, array: Float32Array, needed: number): void => {
  if (array.length < needed) throw new RangeError(`${op}: ${name} has ${array.length} values, needs ${needed}`);
};

/** Whether the first n floats of a and b share memory (both in one buffer). */
const overlaps = (a: Float32Array, b: Float32Array, n: number): boolean =>
  a.buffer === b.buffer && a.byteOffset < b.byteOffset + n * F32 && b.byteOffset < a.byteOffset + n * F32;

const backendOn = (pool: WasmPool, path: string, fma: boolean, tuning: WasmTuning): Backend => {
  const { spin } = tuning;
  const { kernels, threads } = pool;
  const copyIn = (src: Float32Array, count: number, offset: number): void =>
    pool.heap().set(src.length === count ? src : src.subarray(0, count), offset / F32);
  const copyOut = (offset: number, count: number, dst: Float32Array): void =>
    dst.set(pool.heap().subarray(offset / F32, offset / F32 + count));
  /** Bytes of scratch an operand needs: none when it lives in the shared memory already. */
  const need = (a: Float32Array, count: number): number => (pool.owns(a) ? 0 : count * F32);
  /** The operand's offset in the shared memory: its own, or `scratch` after copying it there. */
  const place = (a: Float32Array, count: number, scratch: number): number => {
    if (pool.owns(a)) return a.byteOffset;
    copyIn(a, count, scratch);
    return scratch;
  };
  /** Copies a result computed at `offset` out to `dst`, unless `dst` is where it was computed. */
  const deliver = (offset: number, count: number, dst: Float32Array): void => {
    if (!(pool.owns(dst) && dst.byteOffset === offset)) copyOut(offset, count, dst);
  };
  /** bias + activation (`Backend.biasActivation`); with `range`, also absRange of the output (`biasActivationRange`). */
  const biasAct = (z: Float32Array, bias: Float32Array, rows: number, cols: number, act: PointwiseActivation, out: Float32Array, range: Float64Array | undefined): void => {
    checkDims('biasActivation', { rows, cols });
    const count = rows * cols;
    checkLength('biasActivation', 'z', z, count);
    checkLength('biasActivation', 'bias', bias, cols);
    checkLength('biasActivation', 'out', out, count);
    if (range !== undefined && range.length < 2) throw new TypeError('biasActivation: range must be a Float64Array of at least 2 values');
    if (count === 0) {
      if (range !== undefined) rangeFromBits(0, 0x7fffffff, range);
      return;
    }
    // out is z's scratch copy when neither lives in the shared memory (the kernel may work in place)
    const [zs, bs, os] = pool.layout([need(z, count), need(bias, cols), pool.owns(z) && !pool.owns(out) ? count * F32 : 0]) as [number, number, number];
    const zo = place(z, count, zs);
    const bo = place(bias, cols, bs);
    const oo = pool.owns(out) ? out.byteOffset : pool.owns(z) ? os : zo;
    const work = count * (isExpensive(act) ? EXPENSIVE_ACTIVATION : 1);
    const nt = work >= tuning.parallelElements ? threads : 1;
    kernels.biasActivation(nt, spin, zo, bo, rows, cols, ACT_CODE[act], oo);
    if (range !== undefined) {
      const bits = kernels.absRangeBits!(oo, count);
      rangeFromBits(Number(bits >> 32n), Number(bits & 0xffffffffn), range);
    }
    deliver(oo, count, out);
  };

  // buffers from `alloc` give their region back when the array object is collected
  const regions = new FinalizationRegistry<readonly [number, number]>(([offset, bytes]) => pool.release(offset, bytes));

  /**
   * One optimiser update with the bits of src/optim/kernels.ts. The kernel reads each old tensor where it
   * is and writes the new one where it is to end up when both live in the shared memory; otherwise the old
   * values are copied to where the new ones go (the output itself, or scratch copied out after) and updated
   * in place there (see assembly/optimizer.ts). `ins` are w, g, then the moments; `outs` the new w and
   * moments in the same order.
   */
  const update = (
    op: string, kind: number, ins: readonly [string, Float32Array][], outs: readonly [string, Float32Array][],
    h: readonly [number, number, number, number, number, number, number, number, number],
  ): number => {
    const n = ins[0]![1].length;
    for (const [name, a] of [...ins, ...outs]) checkLength(op, name, a, n);
    if (n === 0) return 0;
    const block = kernels.updateBlock();
    const blocks = Math.ceil(n / block);
    const g = ins[1]![1];
    // the tensors that move: w and the moments (ins without g), each paired with its output
    const pairs = ins.filter((_, i) => i !== 1).map(([, a], i) => [a, outs[i]![1]] as const);
    const scratch = pool.layout([need(g, n), ...pairs.map(([, out]) => need(out, n)), blocks * 8]);
    const slots = pairs.map(([a, out], i): readonly [number, number] => {
      if (!pool.owns(out)) {
        copyIn(a, n, scratch[i + 1]!); // even from the shared memory: the input is never written
        return [scratch[i + 1]!, scratch[i + 1]!];
      }
      if (pool.owns(a) && (a.byteOffset === out.byteOffset || !overlaps(a, out, n))) return [a.byteOffset, out.byteOffset];
      if (pool.owns(a)) pool.heap().copyWithin(out.byteOffset / F32, a.byteOffset / F32, a.byteOffset / F32 + n);
      else out.set(a.length === n ? a : a.subarray(0, n));
      return [out.byteOffset, out.byteOffset];
    });
    const go = place(g, n, scratch[0]!);
    const from = (i: number): number => slots[i]?.[0] ?? 0;
    const to = (i: number): number => slots[i]?.[1] ?? 0;
    const nt = n * (kind === ADAM ? ADAM_WORK : UPDATE_WORK) >= tuning.parallelElements ? threads : 1;
    const check = kernels.optimizerUpdate(nt, spin, kind, n, from(0), go, from(1), from(2), to(0), to(1), to(2), scratch[pairs.length + 1]!, ...h);
    pairs.forEach(([, out], i) => deliver(to(i), n, out));
    return check;
  };
  const optimizerUpdates: OptimizerUpdates = {
    sgd: (w, g, clip, decay, lr, w2) => update('sgd', SGD, [['w', w], ['g', g]], [['w2', w2]], [clip, decay, lr, 0, 0, 0, 0, 0, 0]),
    momentum: (w, g, v, clip, decay, lr, mu, nesterov, w2, v2) =>
      update('momentum', nesterov ? NESTEROV : MOMENTUM, [['w', w], ['g', g], ['v', v]], [['w2', w2], ['v2', v2]], [clip, decay, lr, mu, 0, 0, 0, 0, 0]),
    adam: (w, g, m, s, clip, decay, lr, b1, b2, c1, c2, eps, w2, m2, s2) =>
      update('adam', ADAM, [['w', w], ['g', g], ['m', m], ['s', s]], [['w2', w2], ['m2', m2], ['s2', s2]], [clip, decay, lr, 0, b1, b2, c1, c2, eps]),
  };

  return {
    name: 'wasm',
    threads,
    description: `wasm: WebAssembly SIMD${fma ? ' with relaxed-SIMD FMA' : ''}, ${threads} thread${threads === 1 ? '' : 's'} (${path})`,
    gemm: (transA, transB, m, n, k, alpha, a, b, beta, c) => {
      checkDims('gemm', { m, n, k });
      checkLength('gemm', 'a', a, m * k);
      checkLength('gemm', 'b', b, k * n);
      checkLength('gemm', 'c', c, m * n);
      if (m === 0 || n === 0) return;
      if (k === 0 || alpha === 0) {
        if (beta === 0) c.fill(0, 0, m * n);
        else if (beta !== 1) for (let i = 0; i < m * n; i++) c[i] = beta * c[i]!;
        return;
      }
      const mode = beta === 0 ? (alpha === 1 ? 0 : 1) : 2;
      const lists = tuning.skipZeros !== false;
      const [as, bs, cs, pa, pb, la, lb] = pool.layout([
        need(a, m * k),
        need(b, k * n),
        need(c, m * n),
        Math.ceil(m / 4) * 4 * k * F32,
        Math.ceil(n / 8) * 8 * k * F32,
        lists ? Math.ceil(m / 4) * (k + 2) * 4 : 0,
        lists ? Math.ceil(n / 8) * (k + 2) * 4 : 0,
      ]) as [number, number, number, number, number, number, number];
      const ao = place(a, m * k, as);
      const bo = place(b, k * n, bs);
      const co = pool.owns(c) ? c.byteOffset : mode === 2 ? place(c, m * n, cs) : cs;
      const nt = 2 * m * n * k >= tuning.parallelGemmFlops ? threads : 1;
      kernels.gemm(nt, spin, transA ? 1 : 0, transB ? 1 : 0, m, n, k, mode, alpha, beta, ao, bo, co, pa, pb, lists ? la : 0, lists ? lb : 0);
      deliver(co, m * n, c);
    },
    biasActivation: (z, bias, rows, cols, act, out) => biasAct(z, bias, rows, cols, act, out, undefined),
    // the activation scan in the kernel's epilogue: on the output while it is in cache, SIMD on bit patterns
    ...(typeof kernels.absRangeBits === 'function' ? { biasActivationRange: biasAct } : {}),
    activationBackward: (delta, a, act, out) => {
      const count = delta.length;
      checkLength('activationBackward', 'a', a, count);
      checkLength('activationBackward', 'out', out, count);
      if (count === 0) return;
      const [ds, as, os] = pool.layout([need(delta, count), need(a, count), pool.owns(delta) && !pool.owns(out) ? count * F32 : 0]) as [number, number, number];
      const dO = place(delta, count, ds);
      const ao = place(a, count, as);
      const oo = pool.owns(out) ? out.byteOffset : pool.owns(delta) ? os : dO;
      const nt = count >= tuning.parallelElements ? threads : 1;
      kernels.activationBackward(nt, spin, dO, ao, count, ACT_CODE[act], oo);
      deliver(oo, count, out);
    },
    ...(typeof kernels.columnSums === 'function'
      ? {
          columnSums: (x: Float32Array, rows: number, cols: number, out: Float32Array) => {
            checkDims('columnSums', { rows, cols });
            checkLength('columnSums', 'x', x, rows * cols);
            checkLength('columnSums', 'out', out, cols);
            if (cols === 0) return;
            const inPlace = pool.owns(out) && !overlaps(x, out, rows * cols); // out written where it is
            const [xs, os] = pool.layout([need(x, rows * cols), inPlace ? 0 : cols * F32]) as [number, number];
            const xo = place(x, rows * cols, xs);
            const oo = inPlace ? out.byteOffset : os;
            kernels.columnSums!(xo, rows, cols, oo);
            deliver(oo, cols, out);
          },
        }
      : {}),
    ...(typeof kernels.scaleBytes === 'function'
      ? {
          // the rows' bytes copied into the shared memory side by side, then widened and scaled there
          scaledGather: (src: Uint8Array, offsets: Uint32Array, size: number, out: Float32Array) => {
            const n = offsets.length * size;
            checkLength('scaledGather', 'out', out, n);
            if (n === 0) return;
            const [bs, os] = pool.layout([n, pool.owns(out) ? 0 : n * F32]) as [number, number];
            const bytes = new Uint8Array(pool.heap().buffer);
            for (let j = 0; j < offsets.length; j++) {
              const o = offsets[j]!;
              // subarray would clip a row silently; what reached the scratch before the throw is not used
              if (o + size > src.length) throw new RangeError(`scaledGather: a row at ${o} of ${size} bytes passes the end of src (${src.length} bytes)`);
              bytes.set(src.subarray(o, o + size), bs + j * size);
            }
            const oo = pool.owns(out) ? out.byteOffset : os;
            kernels.scaleBytes!(bs, n, oo);
            deliver(oo, n, out);
          },
        }
      : {}),
    // a gradpipe.wasm built before the updates existed has no optimizerUpdate: the TypeScript loops then
    ...(typeof kernels.optimizerUpdate === 'function' ? { optimizerUpdates } : {}),
    alloc: (length) => {
      checkDims('alloc', { length });
      const bytes = length * F32;
      const offset = pool.reserve(bytes);
      const a = new Float32Array(pool.heap().buffer, offset, length);
      a.fill(0); // a released region holds its last owner's values
      regions.register(a, [offset, bytes]);
      return a;
    },
    dispose: () => pool.dispose(),
  };
};

/**
 * The wasm backend on `threads` threads (default: all cores), on the relaxed-SIMD build when `fma` allows it
 * and it loads and starts on every thread, else on the plain one. `Left` when gradpipe.wasm was not built
 * (run `npm run build`), this engine cannot run it, a worker fails to start, or `threads` is not an integer
 * from 1 to 64.
 */
export const createWasmBackend = (opts: WasmBackendOptions = {}): Promise<E.Either<GradpipeError, Backend>> =>
  createTunedWasmBackend(opts, DEFAULT_TUNING);

/** `createWasmBackend` with other thresholds (tests force every job onto all threads; benchmarks sweep them). */
export const createTunedWasmBackend = async (
  opts: WasmBackendOptions,
  tuning: WasmTuning,
): Promise<E.Either<GradpipeError, Backend>> => {
  const threads = opts.threads ?? Math.min(MAX_THREADS, cores());
  if (!validThreads(threads)) {
    return E.left(threadsError(threads));
  }
  if (opts.fma ?? envVar('GRADPIPE_WASM_FMA') !== '0') {
    // Any failure here (not built, not accepted, a worker that cannot instantiate it) leaves the plain build.
    const relaxed = await loadRelaxedWasmModule();
    if (E.isRight(relaxed)) {
      const pool = await startPool(relaxed.right.module, threads);
      if (E.isRight(pool)) return E.right(backendOn(pool.right, relaxed.right.path, true, tuning));
    }
  }
  const loaded = await loadWasmModule();
  if (E.isLeft(loaded)) return loaded;
  const pool = await startPool(loaded.right.module, threads);
  return E.map((p: WasmPool) => backendOn(p, loaded.right.path, false, tuning))(pool);
};
