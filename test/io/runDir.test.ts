/**
 * openRunDir and the run-folder lock (src/io/runDir.ts, src/io/lock.ts): each refusal through an injected
 * file system (so read-only and full disks are tested on any machine, root or not), the lock's holder
 * records, stale takeover and release, and which leftover names are removed on resume.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stagingPathFor, tempPathFor, temporaryPid } from '../../src/io/atomic.js';
import { cleanCheckpointTemporaries } from '../../src/io/checkpoint.js';
import { acquireLock, checkUnlocked, holderAlive, LOCK_FILE, procStart, type Holder } from '../../src/io/lock.js';
import { checkpointBytes, nodeRunDirFs, openRunDir, type RunDirFs } from '../../src/io/runDir.js';
import { rmTmp, tmp } from '../cli/helpers.js';

let dir: string;
beforeEach(() => {
  dir = tmp('gradpipe-rundir-');
});
afterEach(() => rmTmp(dir));

const errno = (code: string): Error => Object.assign(new Error(`${code}: simulated`), { code });
const OPTS = { command: 'gradpipe train', needBytes: 1000 };

const message = (r: E.Either<{ message: string; hint: string }, unknown>): string => (E.isLeft(r) ? `${r.left.message}; ${r.left.hint}` : 'accepted');

describe('openRunDir refuses a folder a run could not write', () => {
  it('a read-only mount: the probe fails with EROFS', () => {
    const f: RunDirFs = { ...nodeRunDirFs, probe: () => { throw errno('EROFS'); } };
    expect(message(openRunDir(dir, OPTS, f))).toBe('is on a read-only file system; choose a writable folder with --out');
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
  });

  it('a new folder on a read-only mount says read-only, not ENOENT', () => {
    const made: string[] = [];
    const f: RunDirFs = { ...nodeRunDirFs, mkdirSync: (p) => { made.push(p); throw errno('EROFS'); } };
    const r = openRunDir(join(dir, 'a', 'b'), OPTS, f);
    expect(message(r)).toBe('cannot be created: it is on a read-only file system; choose a writable folder with --out');
    // created from the deepest existing ancestor down, so the first mkdir's error is the real one
    expect(made).toEqual([join(dir, 'a')]);
  });

  it('a folder without write permission', () => {
    const f: RunDirFs = { ...nodeRunDirFs, probe: () => { throw errno('EACCES'); } };
    expect(message(openRunDir(dir, OPTS, f))).toMatch(/^is not writable \(permission denied\)/);
  });

  it('a file, and a path through a file', () => {
    const file = join(dir, 'f');
    writeFileSync(file, 'x');
    expect(message(openRunDir(file, OPTS))).toBe('is a file, not a folder; give a folder with --out');
    expect(message(openRunDir(join(file, 'run'), OPTS))).toMatch(/^cannot be a folder: a part of its path is a file/);
  });

  it('a disk with less room than the first checkpoint', () => {
    const f: RunDirFs = { ...nodeRunDirFs, freeBytes: () => 64 * 1024 };
    expect(message(openRunDir(dir, { ...OPTS, needBytes: checkpointBytes([784, 1000, 10], 'adam') }, f))).toBe(
      'has 64 KiB free, less than the 9.1 MiB the first checkpoint needs; free some space, or choose another folder with --out',
    );
  });

  it('accepts a writable folder, creates a missing one, and leaves no probe behind', () => {
    const out = join(dir, 'new', 'run');
    const r = openRunDir(out, OPTS);
    if (E.isLeft(r)) return expect.fail(r.left.message);
    expect(readdirSync(out)).toEqual([LOCK_FILE]);
    r.right.lock.release();
    expect(readdirSync(out)).toEqual([]);
  });
});

describe('openRunDir: folders it created', () => {
  it('are removed again when the run ends (or is refused) before writing anything, and kept once it wrote', async () => {
    const r = openRunDir(join(dir, 'a', 'b'), OPTS);
    if (E.isLeft(r)) return expect.fail(r.left.message);
    expect(await r.right.holding(async () => 7)).toBe(7);
    expect(readdirSync(dir)).toEqual([]);
    const full: RunDirFs = { ...nodeRunDirFs, freeBytes: () => 0 };
    expect(E.isLeft(openRunDir(join(dir, 'c', 'd'), OPTS, full))).toBe(true);
    expect(readdirSync(dir)).toEqual([]);
    const w = openRunDir(join(dir, 'e', 'f'), OPTS);
    if (E.isLeft(w)) return expect.fail(w.left.message);
    await w.right.holding(async () => writeFileSync(join(dir, 'e', 'f', 'metrics.jsonl'), '{}\n'));
    expect(readdirSync(join(dir, 'e', 'f'))).toEqual(['metrics.jsonl']);
  });
});

describe('checkpointBytes', () => {
  it('counts float32 parameters and the optimiser moments', () => {
    // 784-1000-10: 784,000 + 1,000 + 10,000 + 10 = 795,010 parameters
    expect(checkpointBytes([784, 1000, 10], 'sgd')).toBe(4 * 795_010);
    expect(checkpointBytes([784, 1000, 10], 'momentum')).toBe(2 * 4 * 795_010);
    expect(checkpointBytes([784, 1000, 10], 'adam')).toBe(3 * 4 * 795_010);
  });
});

/** The pid of a process that has exited. */
const deadPid = (): number => {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
};

describe('the run-folder lock', () => {
  it('a second acquire while the first holder lives is refused, naming it', () => {
    const first = acquireLock(dir, 'gradpipe train');
    if (E.isLeft(first)) return expect.fail(first.left.message);
    const held = JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')) as Holder;
    expect(held.pid).toBe(process.pid);
    expect(held.procStart).toBe(procStart(process.pid));
    const second = acquireLock(dir, 'gradpipe train');
    expect(message(second)).toBe(`is in use by another gradpipe process, pid ${process.pid} (gradpipe train, started ${held.started}); wait for it to finish, stop it, or choose another folder with --out`);
    expect(E.isLeft(checkUnlocked(dir))).toBe(true);
    first.right.release();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    expect(E.isRight(checkUnlocked(dir))).toBe(true);
  });

  it('the lock of a dead process is stale: taken over, and the takeover says whose', () => {
    const dead: Holder = { pid: deadPid(), started: '2026-01-01T00:00:00.000Z', host: hostname(), procStart: null, command: 'gradpipe train' };
    expect(holderAlive(dead)).toBe(false);
    expect(holderAlive({ ...dead, pid: process.pid })).toBe(true);
    // another host's process cannot be checked from here: never taken for dead
    expect(holderAlive({ ...dead, host: `not-${hostname()}` })).toBe(true);
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify(dead));
    const r = openRunDir(dir, OPTS);
    if (E.isLeft(r)) return expect.fail(r.left.message);
    expect(r.right.notes).toEqual([`${dir}: took over the lock of pid ${dead.pid} (gradpipe train, started ${dead.started}), which is no longer running`]);
    expect((JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')) as Holder).pid).toBe(process.pid);
    r.right.lock.release();
    // nothing but the lock was ever written: no staged or stale names remain
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a live pid with another start tick is a recycled pid: stale', () => {
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: process.pid, started: 'then', host: hostname(), procStart: '1', command: 'gradpipe train' }));
    const r = acquireLock(dir, 'gradpipe train');
    if (E.isLeft(r)) return expect.fail(r.left.message);
    expect(r.right.tookOverFrom).toMatchObject({ pid: process.pid, procStart: '1' });
    r.right.release();
  });

  it('release removes only its own record', () => {
    const r = acquireLock(dir, 'gradpipe train');
    if (E.isLeft(r)) return expect.fail(r.left.message);
    const other = JSON.stringify({ pid: 1, started: 'later', host: 'elsewhere', procStart: null, command: 'gradpipe train' });
    writeFileSync(join(dir, LOCK_FILE), other);
    r.right.release();
    expect(readFileSync(join(dir, LOCK_FILE), 'utf8')).toBe(other);
  });
});

describe('leftover temporary files', () => {
  it('the names tempPathFor and stagingPathFor make are temporary, with their pid; the run files and the lock are not', () => {
    const target = join(dir, 'checkpoint.safetensors');
    const temporary = [tempPathFor(target), ...(['link', 'new', 'stale', 'probe'] as const).map((p) => stagingPathFor(target, p))];
    for (const t of temporary) expect(temporaryPid(t.slice(dir.length + 1)), t).toBe(process.pid);
    for (const name of ['checkpoint.safetensors', 'checkpoint.prev.safetensors', 'model.safetensors', 'metrics.jsonl', 'summary.json', 'curves.svg', 'confusion.svg', LOCK_FILE, '.hidden.txt']) {
      expect(temporaryPid(name), name).toBe(undefined);
    }
  });

  it('cleanCheckpointTemporaries removes the temporary names of dead processes and earlier versions\' fixed ones, nothing else', async () => {
    const keep = ['checkpoint.safetensors', 'checkpoint.prev.safetensors', 'model.safetensors', 'metrics.jsonl', LOCK_FILE];
    // a live process's temporary stays; 9999999 is above any Linux pid_max (2^22), so surely not running
    const live = tempPathFor(join(dir, 'model.safetensors')).slice(dir.length + 1);
    const leftovers = ['.checkpoint.prev.safetensors.9999999.link', '.summary.json.9999999.3.kq1.tmp', 'checkpoint.next.safetensors', 'checkpoint.prev.safetensors.9999999.link'];
    mkdirSync(join(dir, 'sub'));
    for (const f of [...keep, live, ...leftovers]) writeFileSync(join(dir, f), 'x');
    expect((await cleanCheckpointTemporaries(dir)).sort()).toEqual([...leftovers].sort());
    expect(readdirSync(dir).sort()).toEqual([...keep, live, 'sub'].sort());
  });
});
