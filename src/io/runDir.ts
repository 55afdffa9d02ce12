/**
 * The output folder of a training run, made ready before any data is read, so a run that could not save
 * its work is refused in a moment instead of after all its epochs:
 *   1. the folder exists or is created, one level at a time (so a read-only mount says "read-only", not the
 *      ENOENT a recursive mkdir reports), and is a folder;
 *   2. a probe file is created and removed in it (permissions and read-only mounts show here);
 *   3. its file system has room for at least the first checkpoint;
 *   4. it is locked for this process (lock.ts).
 * (What a dead run left half written is removed on resume by `cleanCheckpointTemporaries`, checkpoint.ts.)
 * Each refusal is one error naming the folder and the reason.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import type { GradpipeError } from '../errors.js';
import { stagingPathFor } from './atomic.js';
import { errnoCode, ioError } from './ioError.js';
import { acquireLock, describeHolder, type Holder, type Lock } from './lock.js';

/** The file-system calls the checks make; tests replace them to simulate what a machine cannot offer. */
export interface RunDirFs {
  readonly statSync: (p: string) => fs.Stats | undefined;
  readonly mkdirSync: (p: string) => void;
  readonly probe: (dir: string) => void;
  readonly freeBytes: (dir: string) => number;
}

export const nodeRunDirFs: RunDirFs = {
  statSync: (p) => fs.statSync(p, { throwIfNoEntry: false }),
  mkdirSync: (p) => fs.mkdirSync(p),
  probe: (dir) => {
    const file = stagingPathFor(path.join(dir, '.gradpipe'), 'probe');
    fs.closeSync(fs.openSync(file, 'wx'));
    fs.rmSync(file, { force: true });
  },
  freeBytes: (dir) => {
    const s = fs.statfsSync(dir);
    return s.bavail * s.bsize;
  },
};

export interface RunDirOptions {
  /** What the lock says this process is doing, e.g. `gradpipe train`. */
  readonly command: string;
  /** Bytes the first checkpoint needs (see `checkpointBytes`). */
  readonly needBytes: number;
}

/** A ready, locked run folder. */
export interface RunDir {
  readonly dir: string;
  /** Things to tell the user: a stale lock taken over. */
  readonly notes: readonly string[];
  readonly lock: Lock;
  /** Runs `f`; when it settles, releases the lock and removes the folders this call created if they are still empty. */
  holding<T>(f: () => Promise<T>): Promise<T>;
}

/**
 * A lower bound of the first checkpoint's size: the float32 parameters of a network of `layers` sizes and
 * the optimiser's moments (none for sgd, two for adam, one otherwise); headers and state come on top.
 */
export const checkpointBytes = (layers: readonly number[], optimizer: string): number => {
  let params = 0;
  for (let i = 1; i < layers.length; i++) params += layers[i - 1]! * layers[i]! + layers[i]!;
  const copies = 1 + (optimizer === 'sgd' ? 0 : optimizer === 'adam' ? 2 : 1);
  return 4 * params * copies;
};

const mib = (n: number): string => (n >= 1024 * 1024 ? `${(n / (1024 * 1024)).toFixed(1)} MiB` : `${Math.ceil(n / 1024)} KiB`);

const why = (e: unknown): string => {
  switch (errnoCode(e)) {
    case 'EROFS':
      return 'is on a read-only file system';
    case 'EACCES':
    case 'EPERM':
      return 'is not writable (permission denied)';
    case 'ENOSPC':
    case 'EDQUOT':
      return 'is on a full disk';
    case 'ENOTDIR':
      return 'cannot be a folder: a part of its path is a file';
    default:
      return `cannot be written (${e instanceof Error ? e.message : String(e)})`;
  }
};

const refuse = (dir: string, reason: string, hint = 'choose a writable folder with --out'): E.Either<GradpipeError, never> =>
  E.left(ioError(dir, reason, hint));

/**
 * Creates `dir` one level at a time from its deepest existing ancestor, so the error is the real one; the
 * folders it created (to remove again if the run ends before writing anything), or the error.
 */
const makeFolder = (dir: string, f: RunDirFs): { created: string[] } | { error: unknown } => {
  const missing: string[] = [];
  const created: string[] = [];
  let p = dir;
  try {
    while (f.statSync(p) === undefined && path.dirname(p) !== p) {
      missing.unshift(p);
      p = path.dirname(p);
    }
    for (const m of missing) {
      f.mkdirSync(m);
      created.unshift(m);
    }
    return { created };
  } catch (error) {
    removeEmpty(created);
    return { error };
  }
};

/** Removes those of `folders` (deepest first) that are empty: a run refused or failed before its first write leaves nothing. */
const removeEmpty = (folders: readonly string[]): void => {
  for (const d of folders) {
    try {
      fs.rmdirSync(d);
    } catch {
      return; // not empty (or gone): its parents are not empty either
    }
  }
};

const stale = (h: Holder | 'unreadable'): string =>
  h === 'unreadable' ? 'took over an unreadable lock' : `took over the lock of ${describeHolder(h)}, which is no longer running`;

/** Makes `dir` ready for a run (see the module comment). */
export const openRunDir = (dir: string, o: RunDirOptions, f: RunDirFs = nodeRunDirFs, alive?: (h: Holder) => boolean): E.Either<GradpipeError, RunDir> => {
  let stat: fs.Stats | undefined;
  try {
    stat = f.statSync(dir);
  } catch (e) {
    return refuse(dir, why(e));
  }
  if (stat !== undefined && !stat.isDirectory()) return refuse(dir, 'is a file, not a folder', 'give a folder with --out');
  let created: readonly string[] = [];
  if (stat === undefined) {
    const made = makeFolder(dir, f);
    if ('error' in made) return refuse(dir, `cannot be created: it ${why(made.error)}`);
    created = made.created;
  }
  const refuseAndClean = (reason: string, hint?: string): E.Either<GradpipeError, never> => {
    removeEmpty(created);
    return refuse(dir, reason, hint);
  };
  try {
    f.probe(dir);
  } catch (e) {
    return refuseAndClean(why(e));
  }
  let free: number | undefined;
  try {
    free = f.freeBytes(dir);
  } catch {
    free = undefined; // no statfs here: the writes themselves will say when the disk is full
  }
  if (free !== undefined && free < o.needBytes) {
    return refuseAndClean(`has ${mib(free)} free, less than the ${mib(o.needBytes)} the first checkpoint needs`, 'free some space, or choose another folder with --out');
  }
  const lock = acquireLock(dir, o.command, alive);
  if (E.isLeft(lock)) {
    removeEmpty(created);
    return lock;
  }
  const notes = lock.right.tookOverFrom === undefined ? [] : [`${dir}: ${stale(lock.right.tookOverFrom)}`];
  const release = (): void => {
    lock.right.release();
    removeEmpty(created);
  };
  return E.right({ dir, notes, lock: lock.right, holding: (run) => run().finally(release) });
};
