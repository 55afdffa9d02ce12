/**
 * The `native` backend: GEMM by the system's OpenBLAS (cblas_sgemm, row-major) through a Node-API addon,
 * zero copy on the Float32Arrays' own memory, and the element-wise kernels in C.
 *
 * Threads: OpenBLAS keeps one thread count per process, so each backend sets its own count before a GEMM
 * when another backend changed it.
 *
 * Determinism (an exception to the rule in backend.ts): OpenBLAS 0.3.21 gives identical bits for a fixed
 * thread count, but not across thread counts once a product is big enough to be threaded: its threaded
 * driver blocks the reduction (k > 320 on SkylakeX kernels) and tiles the output (Haswell kernels)
 * differently from its single-threaded one (measured by test/bench/native-gemm.ts). `--threads 1` gives
 * the same bits on every machine of a kind.
 */
import * as E from 'fp-ts/lib/Either.js';
import { availableParallelism } from 'node:os';
import type { Backend } from '../backend.js';
import { optionError, type GradpipeError } from '../../errors.js';
import type { PointwiseActivation } from '../kernels.js';
import { loadAddon, type NativeAddon } from './addon.js';

/** Activation codes shared with gradpipe_native.c (enum activation). */
const ACT_CODE: Readonly<Record<PointwiseActivation, number>> = {
  identity: 0,
  relu: 1,
  'leaky-relu': 2,
  sigmoid: 3,
  tanh: 4,
};

/** The thread count last given to OpenBLAS by any native backend of this process. */
let threadsInEffect: number | undefined;

const useThreads = (addon: NativeAddon, threads: number): void => {
  if (threadsInEffect !== threads) threadsInEffect = addon.setThreads(threads);
};

/** "OpenBLAS 0.3.21 (DYNAMIC_ARCH, core Haswell)" from the library's own config string. */
const blasName = (addon: NativeAddon): string => {
  const { config, corename } = addon.blasInfo();
  const words = config.trim().split(/\s+/);
  const version = words.slice(0, 2).join(' ') || 'OpenBLAS';
  const dynamic = words.includes('DYNAMIC_ARCH') ? 'DYNAMIC_ARCH, ' : '';
  return `${version} (${dynamic}core ${corename.trim() || 'unknown'})`;
};

/**
 * The native backend with `threads` OpenBLAS threads (default: all cores). `Left` when the addon was not
 * built or does not load (the message says why, for `gradpipe info`), or when `threads` is not a positive
 * integer.
 */
export const createNativeBackend = (opts: { threads?: number }): E.Either<GradpipeError, Backend> => {
  const wanted = opts.threads ?? availableParallelism();
  if (!Number.isInteger(wanted) || wanted < 1) {
    return E.left(optionError('--threads', `must be a positive integer, got ${wanted}`, 'pass e.g. --threads 2'));
  }
  return E.map(({ addon, path }: { addon: NativeAddon; path: string }): Backend => {
    threadsInEffect = addon.setThreads(wanted);
    const threads = threadsInEffect;
    return {
      name: 'native',
      threads,
      description:
        `native: ${blasName(addon)} cblas_sgemm via Node-API addon ${path}, ` +
        (threads === 1 ? '1 thread' : `${threads} threads (bits reproducible only at this thread count)`),
      gemm: (transA, transB, m, n, k, alpha, a, b, beta, c) => {
        useThreads(addon, threads);
        addon.sgemm(transA, transB, m, n, k, alpha, a, b, beta, c);
      },
      biasActivation: (z, bias, rows, cols, act, out) => addon.biasActivation(z, bias, rows, cols, ACT_CODE[act], out),
      activationBackward: (delta, a, act, out) => addon.activationBackward(delta, a, ACT_CODE[act], out),
      // OpenBLAS's threads belong to the process and are reused by the next native backend; nothing to free.
      dispose: () => undefined,
    };
  })(loadAddon());
};
