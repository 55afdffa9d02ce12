/**
 * The `native` backend: GEMM by the system's oneDNN (dnnl_sgemm) or, where the build did not find it,
 * OpenBLAS (cblas_sgemm), row-major, through a Node-API addon, zero copy on the Float32Arrays' own memory;
 * the element-wise kernels and the optimisers' fused updates in C.
 *
 * Threads and determinism: the library runs single-threaded (its own threading splits the reduction, so its
 * bits depend on the thread count). The addon's own threads share out blocks of C, cut by the shape alone,
 * one single-threaded library call each; and chunks of the optimiser updates, cut by the length alone.
 * So the bits never depend on the thread count (see gemm.c for why the blocks are not simply one per
 * thread). Small GEMMs are one block, on the calling thread.
 */
import * as E from 'fp-ts/lib/Either.js';
import { availableParallelism } from 'node:os';
import { MAX_THREADS, threadsError, validThreads, type Backend } from '../backend.js';
import { optionError, type GradpipeError } from '../../errors.js';
import type { PointwiseActivation } from '../kernels.js';
import { loadAddon, type GemmLibrary, type NativeAddon, type NativeHandle, type NativeTuning } from './addon.js';

export type { GemmLibrary, NativeTuning } from './addon.js';
import { DEFAULT_NATIVE_TUNING } from './addon.js';
export { DEFAULT_NATIVE_TUNING };

/** Activation codes shared with elementwise.c (enum activation). */
const ACT_CODE: Readonly<Record<PointwiseActivation, number>> = {
  identity: 0,
  relu: 1,
  'leaky-relu': 2,
  sigmoid: 3,
  tanh: 4,
};

/**
 * oneDNN's tuning: the same blocks (its sgemm has no small-matrix path to aim at, so no small-product cut),
 * chosen with test/bench/native-shapes.ts.
 */
export const ONEDNN_NATIVE_TUNING: NativeTuning = {
  ...DEFAULT_NATIVE_TUNING,
  smallBlockFlops: 0,
};

/** The default tuning for a GEMM library. */
export const nativeTuningFor = (library: GemmLibrary): NativeTuning =>
  library === 'onednn' ? ONEDNN_NATIVE_TUNING : DEFAULT_NATIVE_TUNING;

export interface NativeBackendOptions {
  /** Threads to compute on, the calling one included (default: os.availableParallelism(), at most MAX_THREADS). */
  readonly threads?: number;
  /** The GEMM library (default: the best the addon linked, oneDNN before OpenBLAS). */
  readonly gemmLibrary?: GemmLibrary;
}

/**
 * The native backend on `threads` threads (default: all cores), with the tuning of its GEMM library. `Left`
 * when the addon was not built or does not load (the message says why, for `gradpipe info`), when `threads`
 * is not an integer from 1 to MAX_THREADS (64, backend.ts), or when the addon did not link `gemmLibrary`.
 */
export const createNativeBackend = (opts: NativeBackendOptions): E.Either<GradpipeError, Backend> =>
  createTunedNativeBackend(opts, nativeTuningFor);

/**
 * `createNativeBackend` with another tuning, or one per library (tests cut small products into many blocks;
 * benchmarks tune).
 */
export const createTunedNativeBackend = (
  opts: NativeBackendOptions,
  tuning: NativeTuning | ((library: GemmLibrary) => NativeTuning),
): E.Either<GradpipeError, Backend> => {
  const threads = opts.threads ?? Math.min(MAX_THREADS, availableParallelism());
  if (!validThreads(threads)) return E.left(threadsError(threads));
  return E.chain(({ addon, path }: { addon: NativeAddon; path: string }): E.Either<GradpipeError, Backend> => {
    const linked = addon.gemmLibraries();
    const library = opts.gemmLibrary ?? linked[0];
    if (library === undefined || !linked.includes(library)) {
      return E.left(
        optionError(
          'native backend',
          `the addon ${path} was built without ${library ?? 'any GEMM library'} (it has: ${linked.join(', ') || 'none'})`,
          'install libdnnl-dev or libopenblas-dev and run `npm run build:native`, or leave the GEMM library to the default',
        ),
      );
    }
    let h: NativeHandle;
    try {
      h = addon.createBackend(threads, typeof tuning === 'function' ? tuning(library) : tuning, library);
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      return E.left(optionError('threads', `the native backend could not start ${threads} threads (${why})`, 'give fewer, such as 1'));
    }
    return E.right({
      name: 'native',
      threads,
      description:
        `native: ${addon.gemmInfo(library)} via Node-API addon ${path}, single-threaded on blocks of C ` +
        `shared by ${threads} thread${threads === 1 ? '' : 's'} (same bits for any thread count)`,
      gemm: (transA, transB, m, n, k, alpha, a, b, beta, c) => addon.sgemm(h, transA, transB, m, n, k, alpha, a, b, beta, c),
      biasActivation: (z, bias, rows, cols, act, out) => addon.biasActivation(z, bias, rows, cols, ACT_CODE[act], out),
      biasActivationRange: (z, bias, rows, cols, act, out, range) => addon.biasActivation(z, bias, rows, cols, ACT_CODE[act], out, range),
      activationBackward: (delta, a, act, out) => addon.activationBackward(delta, a, ACT_CODE[act], out),
      ...(typeof addon.columnSums === 'function' ? { columnSums: (x: Float32Array, rows: number, cols: number, out: Float32Array) => addon.columnSums!(x, rows, cols, out) } : {}),
      ...(typeof addon.scaledGather === 'function'
        ? { scaledGather: (src: Uint8Array, offsets: Uint32Array, size: number, out: Float32Array) => addon.scaledGather!(src, offsets, size, out) }
        : {}),
      optimizerUpdates: {
        sgd: (w, g, clip, decay, lr, w2) => addon.sgdUpdate(h, w, g, clip, decay, lr, w2),
        momentum: (w, g, v, clip, decay, lr, mu, nesterov, w2, v2) =>
          addon.momentumUpdate(h, w, g, v, clip, decay, lr, mu, nesterov, w2, v2),
        adam: (w, g, m, s, clip, decay, lr, b1, b2, c1, c2, eps, w2, m2, s2) =>
          addon.adamUpdate(h, w, g, m, s, clip, decay, lr, b1, b2, c1, c2, eps, w2, m2, s2),
      },
      dispose: () => addon.dispose(h),
    });
  })(loadAddon(undefined, typeof tuning === 'function' ? DEFAULT_NATIVE_TUNING : tuning));
};
