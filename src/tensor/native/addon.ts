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

/** What gradpipe_native.c exports. Argument errors throw TypeError/RangeError (programmer errors). */
export interface NativeAddon {
  sgemm(
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
  biasActivation(z: Float32Array, bias: Float32Array, rows: number, cols: number, act: number, out: Float32Array): void;
  activationBackward(delta: Float32Array, a: Float32Array, act: number, out: Float32Array): void;
  /** OpenBLAS's thread count for the whole process; returns the count now in effect (OpenBLAS may cap it). */
  setThreads(n: number): number;
  getThreads(): number;
  blasInfo(): { config: string; corename: string };
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

const NOT_BUILT_HINT = 'run `npm run build:native` (needs a C compiler and libopenblas-dev), or choose --backend wasm or ts';

const isAddon = (u: unknown): u is NativeAddon =>
  typeof u === 'object' &&
  u !== null &&
  ['sgemm', 'biasActivation', 'activationBackward', 'setThreads', 'getThreads', 'blasInfo'].every(
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
