/**
 * A lock on a run folder: one live process writes a folder at a time, so two `gradpipe train` runs can never
 * mix their checkpoints, models and metrics.
 *
 * The lock is the file `<dir>/.gradpipe.lock`, holding its holder as JSON: pid, start time, host name and,
 * on Linux, the process start tick from /proc (so a recycled pid is not taken for the holder).
 *   1. Acquire: write our record to a temporary file of our own, then hard-link it to the lock name. The link
 *      fails with EEXIST when the name exists, atomically, and the lock never holds half a record.
 *   2. The name exists: read the holder. Alive (same host, the pid answers signal 0, the same start tick)
 *      -> refused, naming it. Another host -> refused too (its liveness cannot be checked from here).
 *      Dead -> the lock is stale: move it aside under a name of our own, check that what we moved is the
 *      record we judged (another process may have taken the lock over in between: then it goes back),
 *      remove it, and start again at 1.
 *   3. Release: remove the lock when it still holds our record; also when the process exits without
 *      releasing (process.exit in a signal handler). A killed process leaves a stale lock, taken over by 2.
 */
import * as fs from 'node:fs';
import { hostname } from 'node:os';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import type { GradpipeError } from '../errors.js';
import { stagingPathFor } from './atomic.js';
import { errnoCode, fsError, ioError } from './ioError.js';

export const LOCK_FILE = '.gradpipe.lock';

/** Who holds a lock. */
export interface Holder {
  readonly pid: number;
  /** ISO time the holder took the lock. */
  readonly started: string;
  readonly host: string;
  /** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot), when the system has /proc. */
  readonly procStart: string | null;
  /** What the holder is doing, e.g. `gradpipe train`. */
  readonly command: string;
}

/** A held lock. */
export interface Lock {
  readonly file: string;
  /** A stale lock this one replaced, if any. */
  readonly tookOverFrom: Holder | 'unreadable' | undefined;
  /** Removes the lock (once; later calls do nothing). */
  release(): void;
}

/** The start tick of `pid` from /proc, or null where there is no /proc. */
export const procStart = (pid: number): string | null => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid ..."; comm may hold spaces and parentheses, so count from the last ')'
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null;
  } catch {
    return null;
  }
};

/** True when `h` is a live process (or one on another host, which cannot be checked). */
export const holderAlive = (h: Holder): boolean => {
  if (h.host !== hostname()) return true;
  try {
    process.kill(h.pid, 0);
  } catch (e) {
    // EPERM: the process exists but belongs to another user
    if (errnoCode(e) !== 'EPERM') return false;
  }
  const now = procStart(h.pid);
  return h.procStart === null || now === null || now === h.procStart;
};

/** `pid 1234 (gradpipe train, started 2026-12-05T09:00:00.000Z)`, with the host when it is another one. */
export const describeHolder = (h: Holder): string =>
  `pid ${h.pid}${h.host === hostname() ? '' : ` on ${h.host}`} (${h.command}, started ${h.started})`;

const parseHolder = (text: string): Holder | undefined => {
  try {
    const h = JSON.parse(text) as Partial<Holder>;
    return typeof h.pid === 'number' && typeof h.started === 'string' && typeof h.host === 'string'
      ? { pid: h.pid, started: h.started, host: h.host, procStart: typeof h.procStart === 'string' ? h.procStart : null, command: typeof h.command === 'string' ? h.command : 'unknown command' }
      : undefined;
  } catch {
    return undefined;
  }
};

const readOrUndefined = (file: string): string | undefined => {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    throw e;
  }
};

/** Hard-links `from` to `to`; on file systems without hard links, an exclusive create and a write. */
const linkExclusive = (from: string, to: string, text: string): void => {
  try {
    fs.linkSync(from, to);
  } catch (e) {
    if (!['EPERM', 'ENOTSUP', 'ENOSYS', 'EOPNOTSUPP'].includes(errnoCode(e) ?? '')) throw e;
    fs.writeFileSync(to, text, { flag: 'wx' });
  }
};

const inUse = (dir: string, h: Holder): GradpipeError =>
  ioError(dir, `is in use by another gradpipe process, ${describeHolder(h)}`, 'wait for it to finish, stop it, or choose another folder with --out');

/** Refuses `dir` when a live process holds its lock, without taking it (to check before reading the folder). */
export const checkUnlocked = (dir: string, alive: (h: Holder) => boolean = holderAlive): E.Either<GradpipeError, void> => {
  let text: string | undefined;
  try {
    text = readOrUndefined(path.join(dir, LOCK_FILE));
  } catch {
    text = undefined; // unreadable: acquireLock will say why
  }
  const holder = text === undefined ? undefined : parseHolder(text);
  return holder !== undefined && alive(holder) ? E.left(inUse(dir, holder)) : E.right(undefined);
};

/**
 * Takes the lock of `dir` for `command`, or says which live process holds it. `alive` decides whether a
 * holder is still running (replaceable in tests).
 */
export const acquireLock = (dir: string, command: string, alive: (h: Holder) => boolean = holderAlive): E.Either<GradpipeError, Lock> => {
  const file = path.join(dir, LOCK_FILE);
  const me: Holder = { pid: process.pid, started: new Date().toISOString(), host: hostname(), procStart: procStart(process.pid), command };
  const text = `${JSON.stringify(me)}\n`;
  const mine = stagingPathFor(file, 'new');
  let tookOverFrom: Lock['tookOverFrom'];
  try {
    fs.writeFileSync(mine, text, { flag: 'w' });
    for (let attempt = 0; ; attempt++) {
      try {
        linkExclusive(mine, file, text);
        break;
      } catch (e) {
        if (errnoCode(e) !== 'EEXIST' || attempt >= 5) throw e;
      }
      const found = readOrUndefined(file);
      if (found === undefined) continue; // released in between
      const holder = parseHolder(found);
      if (holder !== undefined && alive(holder)) {
        return E.left(inUse(dir, holder));
      }
      // stale: move it aside, and put it back if what we moved is not what we judged
      const aside = stagingPathFor(file, 'stale');
      try {
        fs.renameSync(file, aside);
      } catch (e) {
        if (errnoCode(e) === 'ENOENT') continue;
        throw e;
      }
      if (fs.readFileSync(aside, 'utf8') !== found) {
        try {
          fs.linkSync(aside, file);
        } catch {
          // someone took the name meanwhile; their lock stands
        }
      } else tookOverFrom = holder ?? 'unreadable';
      fs.rmSync(aside, { force: true });
    }
  } catch (e) {
    return E.left(fsError(file, 'take the lock of the run folder', e));
  } finally {
    fs.rmSync(mine, { force: true });
  }
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    process.removeListener('exit', release);
    try {
      if (readOrUndefined(file) === text) fs.rmSync(file, { force: true });
    } catch {
      // nothing more can be done; a leftover lock of a dead process is taken over as stale
    }
  };
  process.once('exit', release);
  return E.right({ file, tookOverFrom, release });
};
