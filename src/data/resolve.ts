/**
 * Which directory holds the MNIST-layout data, for train, eval and doctor.
 *
 * 1. `--data DIR`, if given, is the only candidate: a wrong path must not silently train on other data.
 * 2. Else the environment variable GRADPIPE_DATA, if set and non-empty, likewise.
 * 3. Else `data/mnist`, then `../shared/datasets/mnist`, both relative to the working directory:
 *    the first holding all four files wins.
 * A Left lists every path tried, with the files missing from each, and says how to get the data.
 */
import { isAbsolute, resolve } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { dataError, optionError, type GradpipeError } from '../errors.js';
import { findMnistFile, isFile, MNIST_NAMES, type Exists } from './mnistFiles.js';

export const DATA_ENV = 'GRADPIPE_DATA';

/** Searched, in order, when neither --data nor GRADPIPE_DATA is given; relative to the working directory. */
export const DEFAULT_DATA_DIRS: readonly string[] = ['data/mnist', '../shared/datasets/mnist'];

/** Which rule found the data folder: --data, $GRADPIPE_DATA, or a default folder. */
export type DataDirSource = 'option' | 'env' | 'default';

/** The data folder found, and which rule found it. */
export interface DataDir {
  /** Absolute. */
  readonly dir: string;
  /** How it was chosen, for messages such as "using data from X (GRADPIPE_DATA)". */
  readonly source: DataDirSource;
}

export interface ResolveInput {
  /** The --data option, if given. */
  readonly data?: string | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly exists: Exists;
}

const HOW_TO_GET =
  'run `gradpipe download` to fetch MNIST into data/mnist, or pass --data DIR (or set GRADPIPE_DATA) to a folder holding the four files';

const missing = (dir: string, exists: Exists): readonly string[] => MNIST_NAMES.filter((n) => findMnistFile(dir, n, exists) === undefined);

const describeMissing = (dir: string, lost: readonly string[]): string =>
  `${dir} (missing ${lost.length === MNIST_NAMES.length ? 'all four files' : lost.map((n) => `${n}[.gz]`).join(', ')})`;

/** Resolves the data directory over an injected file test; pure given `input`. */
export const resolveDataDir = (input: ResolveInput): E.Either<GradpipeError, DataDir> => {
  const { data, env, cwd, exists } = input;
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(cwd, p));
  const fromEnv = env[DATA_ENV];
  const explicit: readonly [string, DataDirSource, string] | undefined =
    data !== undefined ? [data, 'option', '--data'] : fromEnv !== undefined && fromEnv !== '' ? [fromEnv, 'env', DATA_ENV] : undefined;
  if (explicit !== undefined) {
    const [given, source, where] = explicit;
    const dir = abs(given);
    const lost = missing(dir, exists);
    if (lost.length === 0) return E.right({ dir, source });
    return E.left(optionError(where, `${describeMissing(dir, lost)} is not an MNIST-layout data directory`, HOW_TO_GET));
  }
  const tried: string[] = [];
  for (const candidate of DEFAULT_DATA_DIRS) {
    const dir = abs(candidate);
    const lost = missing(dir, exists);
    if (lost.length === 0) return E.right({ dir, source: 'default' });
    tried.push(describeMissing(dir, lost));
  }
  return E.left(dataError('data directory', `no MNIST data found; tried ${tried.join('; ')}`, HOW_TO_GET));
};

/** `resolveDataDir` over the real file system, process.env and process.cwd(). */
export const resolveDataDirDefault = (data?: string): E.Either<GradpipeError, DataDir> =>
  resolveDataDir({ data, env: process.env, cwd: process.cwd(), exists: isFile });
