/**
 * The `native` backend: GEMM by the system's OpenBLAS (cblas_sgemm, row-major) through a Node-API addon,
 * zero copy on the Float32Arrays' own memory; the element-wise kernels and the optimisers' fused updates
 * in C.
 *
 * Threads and determinism: OpenBLAS runs single-threaded (its own threading splits the reduction, so its
 * bits depend on the thread count). The addon's own threads share out blocks of C, cut by the shape alone,
 * one single-threaded cblas_sgemm call each; and chunks of the optimiser updates, cut by the length alone.
 * So the bits never depend on the thread count (see gemm.c for why the blocks are not simply one per
 * thread). Small GEMMs are one block, on the calling thread.
 */
import * as E from 'fp-ts/lib/Either.js';
import { availableParallelism } from 'node:os';
import type { Backend } from '../backend.js';
import { optionError, type GradpipeError } from '../../errors.js';
import type { PointwiseActivation } from '../kernels.js';
import { loadAddon, type NativeAddon, type NativeHandle, type NativeTuning } from './addon.js';

export type { NativeTuning } from './addon.js';
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

/** At most this many threads (the addon's limit). */
export const MAX_NATIVE_THREADS = 256;

/** "OpenBLAS 0.3.21 (DYNAMIC_ARCH, core Haswell)" from the library's own config string. */
const blasName = (addon: NativeAddon): string => {
  const { config, corename } = addon.blasInfo();
  const words = config.trim().split(/\s+/);
  const version = words.slice(0, 2).join(' ') || 'OpenBLAS';
  const dynamic = words.includes('DYNAMIC_ARCH') ? 'DYNAMIC_ARCH, ' : '';
  return `${version} (${dynamic}core ${corename.trim() || 'unknown'})`;
};

export interface NativeBackendOptions {
  /** Threads to compute on, the calling one included (default: os.availableParallelism()). */
  readonly threads?: number;
}

/**
 * The native backend on `threads` threads (default: all cores). `Left` when the addon was not built or
 * does not load (the message says why, for `gradpipe info`), or when `threads` is not an integer from 1 to
 * 256.
 */
export const createNativeBackend = (opts: NativeBackendOptions): E.Either<GradpipeError, Backend> =>
  createTunedNativeBackend(opts, DEFAULT_NATIVE_TUNING);

/** `createNativeBackend` with another tuning (tests cut small products into many blocks; benchmarks tune). */
export const createTunedNativeBackend = (opts: NativeBackendOptions, tuning: NativeTuning): E.Either<GradpipeError, Backend> => {
  const threads = opts.threads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_NATIVE_THREADS) {
    return E.left(
      optionError('--threads', `must be an integer from 1 to ${MAX_NATIVE_THREADS}, got ${threads}`, 'pass e.g. --threads 2'),
    );
  }
  return E.chain(({ addon, path }: { addon: NativeAddon; path: string }): E.Either<GradpipeError, Backend> => {
    let h: NativeHandle;
    try {
      h = addon.createBackend(threads, tuning);
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      return E.left(optionError('--threads', `the native backend could not start ${threads} threads (${why})`, 'pass fewer, e.g. --threads 1'));
    }
    return E.right({
      name: 'native',
      threads,
      description:
        `native: ${blasName(addon)} cblas_sgemm via Node-API addon ${path}, single-threaded on blocks of C ` +
        `shared by ${threads} thread${threads === 1 ? '' : 's'} (same bits for any thread count)`,
      gemm: (transA, transB, m, n, k, alpha, a, b, beta, c) => addon.sgemm(h, transA, transB, m, n, k, alpha, a, b, beta, c),
      biasActivation: (z, bias, rows, cols, act, out) => addon.biasActivation(z, bias, rows, cols, ACT_CODE[act], out),
      activationBackward: (delta, a, act, out) => addon.activationBackward(delta, a, ACT_CODE[act], out),
      optimizerUpdates: {
        sgd: (w, g, clip, decay, lr, w2) => addon.sgdUpdate(h, w, g, clip, decay, lr, w2),
        momentum: (w, g, v, clip, decay, lr, mu, nesterov, w2, v2) =>
          addon.momentumUpdate(h, w, g, v, clip, decay, lr, mu, nesterov, w2, v2),
        adam: (w, g, m, s, clip, decay, lr, b1, b2, c1, c2, eps, w2, m2, s2) =>
          addon.adamUpdate(h, w, g, m, s, clip, decay, lr, b1, b2, c1, c2, eps, w2, m2, s2),
      },
      dispose: () => addon.dispose(h),
    });
  })(loadAddon(undefined, tuning));
};
