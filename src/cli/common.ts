/**
 * Pieces every subcommand shares: printing an error as its one line, exit codes, finding and loading the
 * data, choosing the backend for the duration of a command, and loading a model from a run folder.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { formatError, optionError, type GradpipeError } from '../errors.js';
import { loadMnist, type Dataset } from '../data/dataset.js';
import { isFile } from '../data/mnistFiles.js';
import { resolveDataDir, type DataDir } from '../data/resolve.js';
import { loadModel, type LoadedModel } from '../io/model.js';
import { resolveBackend, type BackendChoice, type Resolved } from '../tensor/select.js';
import { setBackend } from '../tensor/registry.js';
import { resolvePath, type CliIo } from './io.js';
import { helpText, type CommandSpec } from './args.js';

/** Exit codes: documented in `gradpipe --help`. */
export const EXIT = { ok: 0, usage: 1, internal: 2, diverged: 3, problems: 4, interrupted: 130 } as const;

/** Prints `e` as its one line on stderr and returns the exit code for it (a divergence is not an error: see train). */
export const fail = (io: CliIo, e: GradpipeError): number => {
  io.stderr.write(`${formatError(e)}\n`);
  return EXIT.usage;
};

/** Prints the command's help on stdout. */
export const printHelp = (io: CliIo, spec: CommandSpec): number => {
  io.stdout.write(helpText(spec));
  return EXIT.ok;
};

/** The data directory for `--data` (or GRADPIPE_DATA, or the defaults), as seen from the command's cwd. */
export const dataDir = (io: CliIo, data: string | undefined): E.Either<GradpipeError, DataDir> =>
  resolveDataDir({ data, env: io.env, cwd: io.cwd, exists: isFile });

export interface LoadedData {
  readonly dir: DataDir;
  readonly train: Dataset;
  readonly test: Dataset;
}

/** Finds and loads the MNIST-layout data for a network of `inputs` inputs and `classes` outputs. */
export const loadData = async (io: CliIo, data: string | undefined, inputs: number, classes: number): Promise<E.Either<GradpipeError, LoadedData>> => {
  const dir = dataDir(io, data);
  if (E.isLeft(dir)) return dir;
  // 784 reads as 28x28 in messages; any other input size as a flat vector
  const shape = inputs === 784 ? { expectRows: 28, expectCols: 28 } : { expectRows: inputs, expectCols: 1 };
  const loaded = await loadMnist(dir.right.dir, { classes, ...shape });
  return E.map((d: { train: Dataset; test: Dataset }) => ({ dir: dir.right, ...d }))(loaded);
};

/** Runs `f` with the backend chosen by `choice`/`threads` in use, restoring the previous one after. */
export const withBackend = async <T>(
  choice: BackendChoice,
  threads: number | undefined,
  f: (r: Resolved) => Promise<T>,
): Promise<E.Either<GradpipeError, T>> => {
  const resolved = await resolveBackend(choice, threads);
  if (E.isLeft(resolved)) return resolved;
  const previous = setBackend(resolved.right.backend);
  try {
    return E.right(await f(resolved.right));
  } finally {
    setBackend(previous);
    resolved.right.backend.dispose();
  }
};

/** `--model DIR` (a run folder holding model.safetensors) or `--model FILE`; loaded and verified. */
export const loadModelArg = async (io: CliIo, model: string): Promise<E.Either<GradpipeError, LoadedModel & { readonly file: string }>> => {
  const p = resolvePath(io, model);
  const stat = statSync(p, { throwIfNoEntry: false });
  if (stat === undefined) return E.left(optionError('--model', `${model} does not exist`, 'give the output folder of a gradpipe train run, or its model.safetensors'));
  const file = stat.isDirectory() ? join(p, 'model.safetensors') : p;
  return E.map((m: LoadedModel) => ({ ...m, file }))(await loadModel(file));
};

/** Milliseconds since `t0` as seconds. */
export const secondsSince = (t0: number): number => (performance.now() - t0) / 1000;
