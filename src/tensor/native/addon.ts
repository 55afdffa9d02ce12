/**
 * Finding and loading the native addon (built by `npm run build:native`, or by the package's `install` step,
 * into dist/native/). Loading is a boundary: a missing or broken addon is a `Left` whose message says why,
 * using the line the build step recorded in dist/native/status.txt when there is one.
 *
 * Before the addon is loaded into this process it is tried once in a child process (a 2x2 GEMM on a started
 * pool): a libopenblas that loads but lacks a symbol ends the process that calls it ("symbol lookup error",
 * exit 127), which must be the child, never the caller. The verdict is kept for the life of the process.
 */
import * as E from 'fp-ts/lib/Either.js';
import { spawnSync } from 'node:child_process';
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
  /**
   * A product of at least 4 MFLOP whose smaller operand's panels hold a nonzero value in at most this share
   * of their steps, and in 48 or more on average (fewer do not pay for a tile's epilogue), is computed by
   * the addon's own kernel, which skips the rest (zgemm.c), not by the library; 0 never, 1 always (where
   * the CPU has AVX2 and FMA).
   */
  readonly zeroSkipDensity: number;
  /**
   * The zero-skipping kernel's vectors: 8 floats (AVX2) or 16 (AVX-512, where the CPU has it; else 8); 0
   * the widest the CPU has. The bits are the same with either.
   */
  readonly zeroSkipLanes: 0 | 8 | 16;
}

/**
 * Chosen on 2 cores with test/bench/native-gemm.ts, native-shapes.ts and native-ab.ts. A block of 16 MFLOP
 * takes ~0.2 ms, far above the cost of waking a thread. Every block beyond the first packs the unsplit
 * operand again: on one thread, 4 blocks of the 784-1000-10 GEMMs cost 0-5% over one whole call, 8 blocks
 * up to 13%; so at most 4, which also caps a GEMM at 4 busy threads. Units of 16 rows and 64 columns are
 * whole register tiles of OpenBLAS's AVX-512 sgemm kernels, and fine enough that 4 blocks of 1000 rows
 * share out evenly (48-row units made one block 288 rows of 1000). Products of up to 6.4 MFLOP with k >= 64
 * are cut into blocks under OpenBLAS's small-matrix bound (1.6 MFLOP < 2 m n k = 2e6), which its unpacked
 * kernels compute 1.3-2.2x faster (gemm.c), all on the calling thread: they last tens of microseconds.
 * An update chunk of 32Ki elements keeps its five operands in L2.
 */
export const DEFAULT_NATIVE_TUNING: NativeTuning = {
  gemmBlockFlops: 16e6,
  maxBlocks: 4,
  rowUnit: 16,
  colUnit: 64,
  smallBlockFlops: 1.6e6,
  smallMinK: 64,
  serialFlops: 6.4e6,
  updateChunk: 1 << 15,
  spinMicroseconds: 100,
  zeroSkipDensity: 0.7,
  zeroSkipLanes: 0,
};

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
  /** out[j] = sum_i x[i, j] in double, rows in order (absent from builds before it). */
  columnSums?(x: Float32Array, rows: number, cols: number, out: Float32Array): void;
  /** Row j of out = src[offsets[j] ..][0 .. size) scaled by 1/255, toBatch's bits (absent from builds before it). */
  scaledGather?(src: Uint8Array, offsets: Uint32Array, size: number, out: Float32Array): void;
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

const NOT_BUILT_HINT =
  'it needs a C compiler and libdnnl-dev or libopenblas-dev; run `npm run build:native` in gradpipe\'s folder, or where gradpipe is a dependency allow its install script (`npm install-scripts approve gradpipe`, then `npm rebuild gradpipe`); meanwhile wasm or ts serve';

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

/**
 * The child's script: load the addon and, for every GEMM library it links, start a one-thread pool with the
 * backend's tuning, multiply [[1,2],[3,4]] by itself and print the product. Every entry point the backend uses
 * first (pool start, the library's sgemm, gemmInfo) is exercised.
 */
const PROBE = `
try {
  const a = require(process.argv[1]);
  const libraries = a.gemmLibraries();
  if (libraries.length === 0) throw new Error('the addon links no GEMM library');
  const products = libraries.map((library) => {
    const h = a.createBackend(1, JSON.parse(process.argv[2]), library);
    const x = new Float32Array([1, 2, 3, 4]), c = new Float32Array(4);
    a.sgemm(h, false, false, 2, 2, 2, 1, x, x, 0, c);
    a.gemmInfo(library);
    a.dispose(h);
    return Array.from(c).join(',');
  });
  process.stdout.write(products.every((p) => p === products[0]) ? products[0] : products.join(' / '));
} catch (e) {
  process.stderr.write(String(e && e.message || e).split('\\n')[0] + '\\n');
  process.exit(1);
}
`;
const verdicts = new Map<string, string | undefined>();

/** Why the addon at `path` cannot be trusted (one line), or undefined when its trial run gives 7,10,15,22. */
export const probeAddon = (path: string, tuning: NativeTuning): string | undefined => {
  if (verdicts.has(path)) return verdicts.get(path);
  const r = spawnSync(process.execPath, ['-e', PROBE, path, JSON.stringify(tuning)], { encoding: 'utf8', timeout: 30_000 });
  // the probe's own message, or the dynamic linker's ("node: symbol lookup error: ...")
  const firstLine = (text: string | undefined): string => (text ?? '').split('\n').map((l) => l.trim()).find((l) => l !== '') ?? '';
  const verdict =
    r.error !== undefined
      ? `could not start ${process.execPath}: ${r.error.message}`
      : r.status !== 0
        ? `${firstLine(r.stderr) || 'no message'} (${r.signal ?? `exit ${r.status}`})`
        : r.stdout.trim() !== '7,10,15,22'
          ? `2x2 product came out ${r.stdout.trim() || 'empty'}, expected 7,10,15,22`
          : undefined;
  verdicts.set(path, verdict);
  return verdict;
};

/** Loads the first candidate that exists; `Left` says why none could be used. */
export const loadAddon = (
  candidates: readonly string[] = addonCandidates(),
  tuning: NativeTuning = DEFAULT_NATIVE_TUNING,
): E.Either<GradpipeError, LoadedAddon> => {
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
  const probe = probeAddon(path, tuning);
  if (probe !== undefined) return E.left(optionError('native backend', `the addon ${path} failed its trial run in a child process: ${probe}`, NOT_BUILT_HINT));
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
