/**
 * The numeric backend: GEMM and the element-wise kernels around it. Networks, losses and optimisers call
 * these and nothing else for their heavy work, so a faster backend is a drop-in.
 *
 * Backends: `ts` (plain TypeScript reference, always there), `wasm` (WebAssembly SIMD on worker threads,
 * compiled at install) and `native` (the system's BLAS through a Node-API addon, when it could be built).
 * Float64 work (gradient checks, references) always runs on the `ts` kernels.
 *
 * Determinism: a backend's results must not depend on its thread count (partition the output, never the
 * reduction dimension), so a seed gives the same bits on any machine of the same kind. (oneDNN's and
 * OpenBLAS's own threading splits the reduction; the native backend therefore partitions C itself and runs
 * the library single-threaded on each part.)
 */
import { optionError, type GradpipeError } from '../errors.js';
import type { Float } from './matrix.js';
import type { PointwiseActivation } from './kernels.js';

/** The numeric backends: the TypeScript reference, WebAssembly SIMD, and the system BLAS. */
export type BackendName = 'ts' | 'wasm' | 'native';
export const BACKEND_NAMES: readonly BackendName[] = ['ts', 'wasm', 'native'];

/**
 * The most threads a backend takes: one range, 1 to 64, for every backend and every command's `--threads`
 * (the wasm control block has per-thread scratch for 64, assembly/layout.ts; the native addon's own limit,
 * 256, is never reached).
 */
export const MAX_THREADS = 64;

/** True for a thread count every backend accepts. */
export const validThreads = (threads: number): boolean => Number.isInteger(threads) && threads >= 1 && threads <= MAX_THREADS;

/** The refusal of a thread count outside 1..MAX_THREADS, naming the library's field (the CLI maps it to --threads). */
export const threadsError = (threads: number): GradpipeError =>
  optionError('threads', `must be an integer from 1 to ${MAX_THREADS}, got ${threads}`, 'give a whole number such as 2');

/** The kernels every float32 network runs on (see the module comment). */
export interface Backend {
  readonly name: BackendName;
  /** Worker threads in use (1 for single-threaded backends). */
  readonly threads: number;
  /** One line for `gradpipe info`: what this backend is and how it was chosen. */
  readonly description: string;
  /**
   * Row-major C = alpha * op(A) * op(B) + beta * C, where op(X) is X or its transpose.
   * op(A) is m x k (A is stored k x m when transA), op(B) is k x n (B is stored n x k when transB), C is m x n.
   * All three are contiguous. When beta is 0, C's previous contents are ignored (even NaN).
   */
  gemm(
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    alpha: number,
    a: Float32Array,
    b: Float32Array,
    beta: number,
    c: Float32Array,
  ): void;
  /** out[i, j] = act(z[i, j] + bias[j]); out may alias z. */
  biasActivation(
    z: Float32Array,
    bias: Float32Array,
    rows: number,
    cols: number,
    act: PointwiseActivation,
    out: Float32Array,
  ): void;
  /**
   * Optional: `biasActivation`, and absRange(out) (src/tensor/reduce.ts) into `range`, in one pass over out
   * while it is in cache: the activation scan of a training step moved into the kernel's epilogue. Same bits
   * in out as `biasActivation`, same range as absRange.
   */
  biasActivationRange?(...args: [...Parameters<Backend['biasActivation']>, range: Float64Array]): void;
  /**
   * Optional: out[j] = sum_i x[i, j], a layer's bias gradient, with the bits of columnSumsInto
   * (src/tensor/kernels.ts): double accumulators, the rows added in order, one rounding.
   */
  columnSums?(x: Float32Array, rows: number, cols: number, out: Float32Array): void;
  /**
   * Optional: batch assembly's pixels, row j of out = src[offsets[j] .. offsets[j] + size) scaled by 1/255,
   * with the bits of `toBatch` (src/stages/batch.ts).
   */
  scaledGather?(src: Uint8Array, offsets: Uint32Array, size: number, out: Float32Array): void;
  /** out = delta * act'(z) written through a = act(z); out may alias delta. */
  activationBackward(delta: Float32Array, a: Float32Array, act: PointwiseActivation, out: Float32Array): void;
  /**
   * Optional fused optimiser updates of one float32 tensor, replacing the TypeScript loops of
   * src/optim/kernels.ts (same arguments, same rules, same returned check). They must give the same bits
   * as those loops (compute in double precision, round once when storing).
   */
  readonly optimizerUpdates?: OptimizerUpdates;
  /**
   * Optional: a zeroed float32 buffer the backend's kernels read and write in place, without copying it
   * (the wasm backend: a view of its shared memory). It is an ordinary Float32Array to everyone else, and
   * lives as long as that array object is reachable: keep the array itself (or a `slice()`), not only a
   * `subarray` of it. Training loops take their reused buffers from here.
   */
  alloc?(length: number): Float32Array;
  /** Releases worker threads and native resources; the backend must not be used afterwards. */
  dispose(): void;
}

/** The element-wise optimiser rules; each returns its check (src/optim/kernels.ts): NaN when a new parameter is not finite, else sumSquares(g). */
export interface OptimizerUpdates {
  /** w' = w - lr (clip g + decay w). */
  sgd(w: Float32Array, g: Float32Array, clip: number, decay: number, lr: number, w2: Float32Array): number;
  /** v' = mu v + (clip g + decay w); w' = w - lr v' (nesterov: w' = w - lr (g' + mu v')). */
  momentum(
    w: Float32Array, g: Float32Array, v: Float32Array, clip: number, decay: number, lr: number, mu: number,
    nesterov: boolean, w2: Float32Array, v2: Float32Array,
  ): number;
  /** Adam with bias corrections c1 = 1 - b1^t, c2 = 1 - b2^t. */
  adam(
    w: Float32Array, g: Float32Array, m: Float32Array, s: Float32Array, clip: number, decay: number, lr: number,
    b1: number, b2: number, c1: number, c2: number, eps: number, w2: Float32Array, m2: Float32Array, s2: Float32Array,
  ): number;
}

/** A generic GEMM over either float type (the ts reference implements this). */
export type GenericGemm = <F extends Float>(
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: F,
  b: F,
  beta: number,
  c: F,
) => void;
