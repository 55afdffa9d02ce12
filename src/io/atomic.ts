/**
 * Atomic file replacement: readers of `path` see the old content or the new content, never a mixture,
 * even if the process is killed or the machine loses power half way.
 *
 * Steps (the order is what makes it safe):
 *   1. create a temporary file with a unique name in the target's folder (`wx`: never reuse one);
 *   2. write all bytes and fsync it, so the data is on disk before any name points at it;
 *   3. rename it over the target (atomic within one file system);
 *   4. fsync the folder, so the rename itself survives a power loss.
 * Any failure in 1-3 removes the temporary file and leaves the target as it was.
 *
 * The steps are written once, as a generator of file-system effects, and run by an async interpreter
 * (`writeFileAtomic`) or a sync one (`writeFileAtomicSync`, for signal handlers and exit hooks).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as E from 'fp-ts/lib/Either.js';
import type { GradpipeError } from '../errors.js';
import { errnoCode, fsError } from './ioError.js';

/** One file-system effect of the atomic write. */
export type Step =
  | { readonly op: 'open'; readonly path: string; readonly flags: 'wx' | 'r' }
  | { readonly op: 'write'; readonly fd: number; readonly data: Uint8Array }
  | { readonly op: 'fsync'; readonly fd: number }
  | { readonly op: 'close'; readonly fd: number }
  | { readonly op: 'rename'; readonly from: string; readonly to: string }
  | { readonly op: 'unlink'; readonly path: string };

/** Runs one step; `open` returns the file descriptor. Replaceable in tests to inject failures. */
export type Perform<R> = (step: Step) => R;

let sequence = 0;

/** A fresh temporary name beside `target`: hidden, tagged with the pid, a counter and the clock. */
export const tempPathFor = (target: string): string => {
  sequence += 1;
  const stamp = process.hrtime.bigint().toString(36);
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${sequence}.${stamp}.tmp`);
};

/** What a per-process file beside a target is for (see `stagingPathFor`). */
export type Staging = 'link' | 'new' | 'stale' | 'probe';

/**
 * A per-process name beside `target` for a file staged before it is renamed or linked into place (the link
 * that rotates the previous checkpoint, a lock record, a write probe): hidden and tagged with the pid, so two
 * processes never share one.
 */
export const stagingPathFor = (target: string, purpose: Staging): string =>
  path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${purpose}`);

/** The pid in a name `tempPathFor` or `stagingPathFor` made (a leftover once that process died); undefined for other names. */
export const temporaryPid = (name: string): number | undefined => {
  const m = /^\..+\.(\d+)\.(\d+\.[0-9a-z]+\.tmp|link|new|stale|probe)$/.exec(name);
  return m === null ? undefined : Number(m[1]);
};

// Folders on some file systems cannot be fsynced; the rename is then as durable as that system allows.
const fsyncUnsupported = new Set(['EINVAL', 'ENOTSUP', 'EISDIR', 'EPERM', 'EBADF', 'EACCES']);

/** Which action a failed step was attempting, for the error message. */
class StepFailure extends Error {
  constructor(
    readonly action: string,
    override readonly cause: unknown,
  ) {
    super(action);
  }
}

function* atomicSteps(target: string, data: Uint8Array): Generator<Step, void, unknown> {
  const tmp = tempPathFor(target);
  let fd: number | undefined;
  let created = false;
  try {
    fd = (yield { op: 'open', path: tmp, flags: 'wx' }) as number;
    created = true;
    yield { op: 'write', fd, data };
    yield { op: 'fsync', fd };
    const closing = fd;
    fd = undefined;
    yield { op: 'close', fd: closing };
    yield { op: 'rename', from: tmp, to: target };
  } catch (e) {
    if (fd !== undefined) {
      try {
        yield { op: 'close', fd };
      } catch {
        // the write already failed; that is the error worth reporting
      }
    }
    if (created) {
      try {
        yield { op: 'unlink', path: tmp };
      } catch {
        // nothing more can be done; the hidden temporary file is harmless
      }
    }
    throw e;
  }
  let dirFd: number | undefined;
  try {
    dirFd = (yield { op: 'open', path: path.dirname(target), flags: 'r' }) as number;
    yield { op: 'fsync', fd: dirFd };
  } catch (e) {
    const cause = e instanceof StepFailure ? e.cause : e;
    if (!fsyncUnsupported.has(errnoCode(cause) ?? '')) throw e;
  } finally {
    if (dirFd !== undefined) yield { op: 'close', fd: dirFd };
  }
}

const describe = (step: Step, target: string): string => {
  switch (step.op) {
    case 'open':
      return step.flags === 'wx' ? `create a temporary file beside ${target}` : `open the folder of ${target}`;
    case 'write':
      return `write ${target}`;
    case 'fsync':
      return `flush ${target} to disk`;
    case 'close':
      return `close ${target}`;
    case 'rename':
      return `move the new ${target} into place`;
    case 'unlink':
      return `remove a temporary file beside ${target}`;
  }
};

const toError = (target: string, e: unknown): GradpipeError =>
  e instanceof StepFailure ? fsError(target, e.action, e.cause) : fsError(target, `write ${target}`, e);

const bytesOf = (data: Uint8Array | string): Uint8Array =>
  typeof data === 'string' ? new TextEncoder().encode(data) : data;

const writeAllSync = (fd: number, data: Uint8Array): void => {
  let offset = 0;
  while (offset < data.length) offset += fs.writeSync(fd, data, offset, data.length - offset);
};

/** The real file system, synchronously. */
export const performSync: Perform<unknown> = (step) => {
  switch (step.op) {
    case 'open':
      return fs.openSync(step.path, step.flags, 0o644);
    case 'write':
      return writeAllSync(step.fd, step.data);
    case 'fsync':
      return fs.fsyncSync(step.fd);
    case 'close':
      return fs.closeSync(step.fd);
    case 'rename':
      return fs.renameSync(step.from, step.to);
    case 'unlink':
      return fs.unlinkSync(step.path);
  }
};

const openAsync = promisify(fs.open);
const writeAsync = promisify(fs.write);
const fsyncAsync = promisify(fs.fsync);
const closeAsync = promisify(fs.close);

const writeAllAsync = async (fd: number, data: Uint8Array): Promise<void> => {
  let offset = 0;
  while (offset < data.length) {
    const { bytesWritten } = await writeAsync(fd, data, offset, data.length - offset);
    offset += bytesWritten;
  }
};

/** The real file system, asynchronously. */
export const performAsync: Perform<Promise<unknown>> = async (step) => {
  switch (step.op) {
    case 'open':
      return openAsync(step.path, step.flags, 0o644);
    case 'write':
      return writeAllAsync(step.fd, step.data);
    case 'fsync':
      return fsyncAsync(step.fd);
    case 'close':
      return closeAsync(step.fd);
    case 'rename':
      return fs.promises.rename(step.from, step.to);
    case 'unlink':
      return fs.promises.unlink(step.path);
  }
};

/**
 * Replaces `file` with `data` atomically (see the module comment), returning an `IOError` naming the file
 * on failure. `perform` is the file system; tests pass one that fails on chosen steps.
 */
export const writeFileAtomic = async (
  file: string,
  data: Uint8Array | string,
  perform: Perform<Promise<unknown>> = performAsync,
): Promise<E.Either<GradpipeError, void>> => {
  const target = path.resolve(file);
  const gen = atomicSteps(target, bytesOf(data));
  try {
    let next = gen.next();
    while (!next.done) {
      const step = next.value;
      let result: unknown;
      try {
        result = await perform(step);
      } catch (cause) {
        next = gen.throw(new StepFailure(describe(step, file), cause));
        continue;
      }
      next = gen.next(result);
    }
    return E.right(undefined);
  } catch (e) {
    return E.left(toError(file, e));
  }
};

/** `writeFileAtomic`, synchronously: for signal handlers and exit hooks, where nothing may be awaited. */
export const writeFileAtomicSync = (
  file: string,
  data: Uint8Array | string,
  perform: Perform<unknown> = performSync,
): E.Either<GradpipeError, void> => {
  const target = path.resolve(file);
  const gen = atomicSteps(target, bytesOf(data));
  try {
    let next = gen.next();
    while (!next.done) {
      const step = next.value;
      let result: unknown;
      try {
        result = perform(step);
      } catch (cause) {
        next = gen.throw(new StepFailure(describe(step, file), cause));
        continue;
      }
      next = gen.next(result);
    }
    return E.right(undefined);
  } catch (e) {
    return E.left(toError(file, e));
  }
};
