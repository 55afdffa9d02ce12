/**
 * Finding and loading the native addon (built by `npm run build:native` into dist/native/). Loading is a
 * boundary: a missing or broken addon is a `Left` whose message says why, using the line the build step
 * recorded in dist/native/status.txt when there is one.
 */
import * as E from 'fp-ts/lib/Either.js';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { optionError, type GradpipeError } from '../../errors.js';
import type { Backend } from '../backend.js';

/** A pool of threads and its tuning, owned by one native backend (an opaque Node-API external). */
export type NativeHandle = { readonly __nativeHandle: unique symbol };

/** The GEMM libraries the addon can be linked with (gemm.c): oneDNN's dnnl_sgemm, OpenBLAS's cblas_sgemm. */
export type GemmLibrary = 'onednn' | 'openblas';

/** How the native backend cuts its work (see gemm.c and update.c). */
export interface NativeTuning {
  /** A GEMM is cut into blocks of C of at least this many flops (2 m n k) each ... */
  readonly gemmBlockFlops: number;
  /** ... and into at most this many. */
  readonly maxBlocks: number;
  /** Block edges fall on multiples of this many rows of C (blocks of rows, when m >= n) ... */
  readonly rowUnit: number;
  /** ... or of this many columns. */
  readonly colUnit: number;
  /**
   * A GEMM of at most maxBlocks times this many flops is cut into ceil(flops / this) blocks, so that each
   * falls under OpenBLAS's small-matrix bound (see gemm.c); 0 never cuts by this rule.
   */
  readonly smallBlockFlops: number;
  /** ... when k is at least this. */
  readonly smallMinK: number;
  /** A GEMM of at most this many flops runs all its blocks on the calling thread. */
  readonly serialFlops: number;
  /** Optimiser updates run in chunks of this many elements (the check is summed per chunk). */
  readonly updateChunk: number;
  /** How long a thread polls for the next job before it sleeps. */
  readonly spinMicroseconds: number;
}

/** The backend's gemm with leading arguments `H` (a handle, or a library and a thread count). */
type Gemm<H extends unknown[]> = (...args: [...H, ...Parameters<Backend['gemm']>]) => void;

/** What gradpipe_native.c exports. Argument errors throw TypeError/RangeError (programmer errors). */
export interface NativeAddon {
  /**
   * A handle owning `threads` threads (the caller included) whose GEMMs call `library` (one of
   * `gemmLibraries()`); throws when threads cannot be started.
   */
  createBackend(threads: number, tuning: NativeTuning, library: GemmLibrary): NativeHandle;
  /** Stops and joins the handle's threads; idempotent. Any other use of the handle then throws. */
  dispose(handle: NativeHandle): void;
  /** Row-major C = alpha op(A) op(B) + beta C over blocks of C; the same bits for any thread count. */
  sgemm: Gemm<[handle: NativeHandle]>;
  /** How `sgemm` cuts an m x n x k product (for descriptions and benchmarks). */
  gemmBlocks(handle: NativeHandle, m: number, n: number, k: number): { byRows: boolean; blocks: number; serial: boolean };
  /** One whole call of `library` with its own threading (benchmarks only; bits depend on `threads`). */
  wholeSgemm: Gemm<[library: GemmLibrary, threads: number]>;
  sgdUpdate(handle: NativeHandle, w: Float32Array, g: Float32Array, clip: number, decay: number, lr: number, w2: Float32Array): number;
  momentumUpdate(
    handle: NativeHandle, w: Float32Array, g: Float32Array, v: Float32Array, clip: number, decay: number, lr: number,
    mu: number, nesterov: boolean, w2: Float32Array, v2: Float32Array,
  ): number;
  adamUpdate(
    handle: NativeHandle, w: Float32Array, g: Float32Array, m: Float32Array, s: Float32Array, clip: number, decay: number,
    lr: number, b1: number, b2: number, c1: number, c2: number, eps: number, w2: Float32Array, m2: Float32Array, s2: Float32Array,
  ): number;
  /** With `range`, also absRange(out) into it (src/tensor/reduce.ts), scanned as the rows are written. */
  biasActivation(z: Float32Array, bias: Float32Array, rows: number, cols: number, act: number, out: Float32Array, range?: Float64Array): void;
  activationBackward(delta: Float32Array, a: Float32Array, act: number, out: Float32Array): void;
  /** The GEMM libraries this build linked, best first. */
  gemmLibraries(): GemmLibrary[];
  /** "oneDNN 2.6.3 dnnl_sgemm (OpenMP runtime, ISA avx2)", "OpenBLAS 0.3.21 cblas_sgemm (DYNAMIC_ARCH, core Haswell)". */
  gemmInfo(library: GemmLibrary): string;
}

export interface LoadedAddon {
  readonly addon: NativeAddon;
  readonly path: string;
}

const ADDON = 'gradpipe_native.node';
const here = dirname(fileURLToPath(import.meta.url));

/**
 * Where the addon may be: dist/native/ seen from the sources (src/tensor/native/, under vitest or tsx) and
 * from the compiled module (dist/src/tensor/native/).
 */
export const addonCandidates = (): readonly string[] => [
  join(here, '..', '..', '..', 'dist', 'native', ADDON),
  join(here, '..', '..', '..', 'native', ADDON),
];

const NOT_BUILT_HINT = 'run `npm run build:native` (needs a C compiler and libdnnl-dev or libopenblas-dev), or choose --backend wasm or ts';

const isAddon = (u: unknown): u is NativeAddon =>
  typeof u === 'object' &&
  u !== null &&
  [
    'createBackend', 'dispose', 'sgemm', 'gemmBlocks', 'wholeSgemm', 'sgdUpdate', 'momentumUpdate', 'adamUpdate',
    'biasActivation', 'activationBackward', 'gemmLibraries', 'gemmInfo',
  ].every(
    (f) => typeof (u as Record<string, unknown>)[f] === 'function',
  );

/** The build step's own account of why it did not build the addon, if it left one. */
const buildStatus = (candidates: readonly string[]): string | undefined =>
  candidates
    .map((p) => join(dirname(p), 'status.txt'))
    .filter((p) => existsSync(p))
    .map((p) => readFileSync(p, 'utf8').trim())
    .find((line) => line !== '');

/** Loads the first candidate that exists; `Left` says why none could be used. */
export const loadAddon = (candidates: readonly string[] = addonCandidates()): E.Either<GradpipeError, LoadedAddon> => {
  const path = candidates.find((p) => existsSync(p));
  if (path === undefined) {
    const status = buildStatus(candidates);
    return E.left(
      optionError(
        'native backend',
        status === undefined
          ? `the addon ${ADDON} has not been built (looked in ${candidates.map((p) => dirname(p)).join(', ')})`
          : `the addon was ${status}`,
        NOT_BUILT_HINT,
      ),
    );
  }
  try {
    const loaded: unknown = createRequire(import.meta.url)(path);
    return isAddon(loaded)
      ? E.right({ addon: loaded, path })
      : E.left(optionError('native backend', `${path} is not gradpipe's addon (functions missing)`, NOT_BUILT_HINT));
  } catch (e) {
    const why = (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';
    return E.left(optionError('native backend', `the addon ${path} does not load: ${why}`, NOT_BUILT_HINT));
  }
};
