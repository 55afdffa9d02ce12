/**
 * The output folder before training and its lock, through the real process (issue 14, points 1 and 2):
 * - an existing read-only --out, a new --out on a read-only mount, a file as --out and a disk too small for
 *   the first checkpoint: exit 1 with one line naming the reason, in under a second, before any data is read;
 * - a second train (or --resume) on a folder a live run is writing: exit 1 naming that run's pid;
 * - the lock of a killed run is taken over, and said so; leftover temporary files are removed on resume.
 *
 * Read-only and full file systems are real tmpfs mounts where `mount` works (root with CAP_SYS_ADMIN); as
 * another user a 555 folder is read-only for the process. Where neither is possible, these cases are
 * covered by the injected file system of test/io/runDir.test.ts.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../../src/io/checkpoint.js';
import { LOCK_FILE } from '../../src/io/lock.js';
import { checkpointBytes, nodeRunDirFs, openRunDir, type RunDirFs } from '../../src/io/runDir.js';
import { fromCheckpoint } from '../../src/stages/checkpoint.js';
import { CLI, ensureBuilt, rmTmp, runCli, runMain, tmp, writeMnistSlice } from './helpers.js';

let dir: string;
let data: string;
const mounts: string[] = [];

beforeAll(() => {
  ensureBuilt();
  dir = tmp();
  data = join(dir, 'mnist');
  mkdirSync(data);
  writeMnistSlice(data, 500, 100);
});
afterAll(() => {
  for (const m of mounts) spawnSync('umount', [m]);
  rmTmp(dir);
});

const isRoot = process.getuid?.() === 0;

/** A tmpfs mounted at `at` with `options`, or false where mounting is not allowed. */
const tmpfs = (at: string, options: string): boolean => {
  mkdirSync(at, { recursive: true });
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', at]);
  if (r.status === 0) mounts.push(at);
  return r.status === 0;
};

/** A folder this process cannot write: a read-only mount, or a 555 folder for a user other than root. */
const readOnlyFolder = (name: string): string | undefined => {
  const at = join(dir, name);
  if (tmpfs(at, 'ro,size=64k')) return at;
  if (isRoot) return undefined;
  chmodSync(at, 0o555);
  return at;
};

/**
 * Where this machine can neither mount nor drop root's rights: the same check through an injected file
 * system (a probe failing with `code`, or 64 KiB free), so the case is still tested, at module level.
 */
const injected = (code: 'EROFS' | 'ENOSPC', reason: RegExp): void => {
  const f: RunDirFs = code === 'EROFS' ? { ...nodeRunDirFs, probe: () => { throw Object.assign(new Error(code), { code }); } } : { ...nodeRunDirFs, freeBytes: () => 64 * 1024 };
  const r = openRunDir(join(dir, `injected-${code}`), { command: 'gradpipe train', needBytes: checkpointBytes([784, 1000, 10], 'momentum') }, f);
  expect(E.isLeft(r) && r.left.message).toMatch(reason);
};

const SMALL = ['--layers', '784-16-10', '--epochs', '1', '--batch-size', '50', '--quiet'];

// --data names a folder that does not exist: were the data read first, that would be the error
const refusedBeforeData = async (out: string, reason: RegExp): Promise<void> => {
  const r = await runCli(['train', '--data', join(dir, 'no-such-data'), ...SMALL, '--out', out], { cwd: dir });
  expect(r.code, r.stderr).toBe(1);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(reason);
  expect(r.stderr).not.toMatch(/ENOENT|no-such-data/);
  expect(r.stdout).toBe('');
  // in-process, once the command's modules are loaded (as they are in the CLI by then), the refusal takes
  // well under a second; the whole subprocess is node's start-up on top
  await runMain(['train', '--help']);
  const t0 = performance.now();
  const inProcess = await runMain(['train', '--data', join(dir, 'no-such-data'), ...SMALL, '--out', out], { cwd: dir });
  const ms = performance.now() - t0;
  expect(inProcess.code).toBe(1);
  expect(inProcess.stderr).toMatch(reason);
  expect(ms).toBeLessThan(1000);
};

describe('the output folder is checked before training', () => {
  it('an existing read-only --out: exit 1 within 1 s naming the reason, nothing trained', async () => {
    const ro = readOnlyFolder('ro-existing');
    if (ro === undefined) return injected('EROFS', /^is on a read-only file system/);
    await refusedBeforeData(ro, /ro-existing: (is on a read-only file system|is not writable \(permission denied\))/);
    expect(readdirSync(ro)).toEqual([]);
  });

  it('a new --out on a read-only mount says read-only, not ENOENT', async () => {
    const ro = readOnlyFolder('ro-parent');
    if (ro === undefined) return injected('EROFS', /^is on a read-only file system/);
    await refusedBeforeData(join(ro, 'new', 'run'), /ro-parent\/new\/run: cannot be created: it (is on a read-only file system|is not writable)/);
    expect(readdirSync(ro)).toEqual([]);
  });

  it('a file as --out, or a path through a file: exit 1 naming it', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'not a folder');
    await refusedBeforeData(file, /a-file: is a file, not a folder; give a folder with --out/);
    await refusedBeforeData(join(file, 'run'), /a-file\/run: cannot be a folder: a part of its path is a file/);
    expect(readFileSync(file, 'utf8')).toBe('not a folder');
  });

  it('a disk without room for the first checkpoint: exit 1 naming the sizes', async () => {
    const small = join(dir, 'small-disk');
    if (!tmpfs(small, 'size=64k')) return injected('ENOSPC', /^has 64 KiB free, less than the 6\.1 MiB/);
    // 784-1000-10 with momentum: two copies of 795,010 float32 parameters, 6.1 MiB
    const r = await runCli(['train', '--data', join(dir, 'no-such-data'), '--layers', '784-1000-10', '--optimizer', 'momentum', '--out', join(small, 'run')], { cwd: dir });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/small-disk\/run: has \d+ KiB free, less than the 6\.1 MiB the first checkpoint needs; free some space, or choose another folder with --out\n$/);
  });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls every 10 ms until `holds()` or `ms` pass; says whether it held (a condition, not a fixed wait). */
const eventually = async (holds: () => boolean, ms: number): Promise<boolean> => {
  const end = performance.now() + ms;
  while (!holds() && performance.now() < end) await sleep(10);
  return holds();
};

/** Starts a long training run into `out` and resolves once it holds the lock. */
const startLongRun = async (out: string): Promise<ChildProcess> => {
  const child = spawn(process.execPath, [CLI, 'train', '--data', data, '--layers', '784-16-10', '--batch-size', '1', '--epochs', '1000', '--quiet', '--out', out], { cwd: dir, stdio: 'ignore' });
  expect(await eventually(() => existsSync(join(out, LOCK_FILE)), 10_000), 'the first run took the lock').toBe(true);
  return child;
};

const killed = (child: ChildProcess): Promise<void> =>
  new Promise((resolve) => {
    child.on('close', () => resolve());
    child.kill('SIGKILL');
  });

describe('the run folder is locked', () => {
  it('a second train, or --resume, on a folder a live run writes: exit 1 naming the first; its lock is taken over once it is killed', async () => {
    const out = join(dir, 'shared');
    const first = await startLongRun(out);
    try {
      const second = await runCli(['train', '--data', data, ...SMALL, '--out', out], { cwd: dir });
      expect(second.code, second.stderr).toBe(1);
      expect(second.stderr).toMatch(new RegExp(`shared: is in use by another gradpipe process, pid ${first.pid} \\(gradpipe train, started \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\); wait for it to finish, stop it, or choose another folder with --out\\n$`));
      const resumed = await runCli(['train', '--resume', out], { cwd: dir });
      expect(resumed.code, resumed.stderr).toBe(1);
      expect(resumed.stderr).toMatch(new RegExp(`is in use by another gradpipe process, pid ${first.pid} `));
      // the first run's folder is untouched by the refused ones: no model, and its lock still names it
      expect(existsSync(join(out, 'model.safetensors'))).toBe(false);
      expect(JSON.parse(readFileSync(join(out, LOCK_FILE), 'utf8')).pid).toBe(first.pid);
      // the lock is taken before any data is read, so the first epoch (and its checkpoint) can still be
      // seconds away on a loaded machine: kill only once there is work to resume (the write is atomic)
      expect(await eventually(() => existsSync(join(out, 'checkpoint.safetensors')), 60_000), 'the first run wrote its first checkpoint').toBe(true);
      expect(first.exitCode, 'the first run is still running').toBe(null);
    } finally {
      await killed(first);
    }
    // SIGKILL left the lock behind: it is stale now
    expect(JSON.parse(readFileSync(join(out, LOCK_FILE), 'utf8')).pid).toBe(first.pid);
    // the first run saved a checkpoint at each epoch end (at least one, above): resume it for one more epoch
    const ckpt = await loadCheckpoint(out);
    if (E.isLeft(ckpt)) return expect.fail(ckpt.left.message);
    const state = fromCheckpoint(ckpt.right, out);
    if (E.isLeft(state)) return expect.fail(state.left.message);
    const epochs = String(state.right.state.epochsCompleted + 1);
    const third = await runCli(['train', '--resume', out, '--epochs', epochs, '--data', data], { cwd: dir });
    expect(third.code, third.stderr).toBe(0);
    expect(third.stderr).toMatch(new RegExp(`shared: took over the lock of pid ${first.pid} \\(gradpipe train, started [^)]+\\), which is no longer running\\n`));
    expect(existsSync(join(out, 'model.safetensors'))).toBe(true);
    // released at the end
    expect(existsSync(join(out, LOCK_FILE))).toBe(false);
  });

  it('resuming removes the temporary files an earlier run left behind', async () => {
    const out = join(dir, 'leftovers');
    const first = await runCli(['train', '--data', data, ...SMALL, '--out', out], { cwd: dir });
    expect(first.code, first.stderr).toBe(0);
    // 9999999 is above any Linux pid_max (2^22): the process that made these is surely gone
    const leftovers = ['.checkpoint.safetensors.9999999.1.abc.tmp', '.checkpoint.prev.safetensors.9999999.link', '.model.safetensors.9999999.1.abc.tmp', 'checkpoint.next.safetensors', 'checkpoint.prev.safetensors.9999999.link'];
    for (const f of leftovers) writeFileSync(join(out, f), 'half a file');
    const before = readdirSync(out).filter((f) => !leftovers.includes(f)).sort();
    const resumed = await runCli(['train', '--resume', out, '--epochs', '2', '--data', data], { cwd: dir });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/leftovers: removed 5 temporary files left by an earlier run/);
    const after = readdirSync(out).sort();
    for (const f of leftovers) expect(after).not.toContain(f);
    // everything else is still there (plus the previous checkpoint the second epoch rotated)
    for (const f of before) expect(after).toContain(f);
  });
});
