import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import * as _ from '../../src/io/atomic.js';
import { useTmpDirs } from './support/tmpdir.js';

const tmp = useTmpDirs();

const errnoError = (code: string): Error => Object.assign(new Error(`${code}: injected`), { code });

/** The steps a successful write performs, recorded from a real run. */
const recordSteps = async (file: string): Promise<_.Step['op'][]> => {
  const ops: _.Step['op'][] = [];
  const r = await _.writeFileAtomic(file, 'probe', (s) => {
    ops.push(s.op);
    return _.performAsync(s);
  });
  expect(E.isRight(r)).toBe(true);
  return ops;
};

describe('writeFileAtomic', () => {
  it('creates a file and replaces an existing one, with bytes or text', async () => {
    const file = join(tmp(), 'a.bin');
    expect(await _.writeFileAtomic(file, new Uint8Array([1, 2, 3]))).toEqual(E.right(undefined));
    expect([...readFileSync(file)]).toEqual([1, 2, 3]);
    expect(await _.writeFileAtomic(file, 'héllo')).toEqual(E.right(undefined));
    expect(readFileSync(file, 'utf8')).toBe('héllo');
    expect(readdirSync(join(file, '..'))).toEqual(['a.bin']);
  });

  it('performs create, write, fsync, close, rename, then fsyncs the folder', async () => {
    const ops = await recordSteps(join(tmp(), 'f'));
    expect(ops).toEqual(['open', 'write', 'fsync', 'close', 'rename', 'open', 'fsync', 'close']);
  });

  it('leaves the old content and no temporary file when any step before the rename fails', async () => {
    const dir = tmp();
    const file = join(dir, 'model.safetensors');
    const ops = await recordSteps(file);
    const renameAt = ops.indexOf('rename');
    for (let k = 0; k <= renameAt; k++) {
      writeFileSync(file, 'old');
      let i = 0;
      const r = await _.writeFileAtomic(file, 'new content', (s) => (i++ === k ? Promise.reject(errnoError('ENOSPC')) : _.performAsync(s)));
      expect(r._tag, `failing step ${k} (${ops[k]})`).toBe('Left');
      if (E.isLeft(r)) {
        expect(r.left._tag).toBe('IOError');
        expect(r.left.where).toBe(file);
        expect(r.left.message).toMatch(/disk is full/);
        expect(r.left.hint).toMatch(/free some space/);
      }
      expect(readFileSync(file, 'utf8')).toBe('old');
      expect(readdirSync(dir)).toEqual(['model.safetensors']);
    }
  });

  it('tolerates folders that cannot be fsynced but reports a real folder fsync failure', async () => {
    const dir = tmp();
    const file = join(dir, 'x');
    const failDirFsync = (code: string) => {
      let i = 0;
      return (s: _.Step) => (s.op === 'fsync' && i++ === 1 ? Promise.reject(errnoError(code)) : _.performAsync(s));
    };
    expect(await _.writeFileAtomic(file, 'one', failDirFsync('EINVAL'))).toEqual(E.right(undefined));
    const r = await _.writeFileAtomic(file, 'two', failDirFsync('EIO'));
    expect(r._tag).toBe('Left');
    // the rename happened: the new content is in place, only its durability is in doubt
    expect(readFileSync(file, 'utf8')).toBe('two');
  });

  it('names the file when its folder does not exist', async () => {
    const file = join(tmp(), 'missing', 'm.json');
    const r = await _.writeFileAtomic(file, '{}');
    expect(r).toEqual(E.left(expect.objectContaining({ _tag: 'IOError', where: file, message: expect.stringMatching(/no such file/) })));
    expect(existsSync(file)).toBe(false);
  });
});

describe('writeFileAtomicSync', () => {
  it('writes like the async variant and cleans up on failure', () => {
    const dir = tmp();
    const file = join(dir, 's.txt');
    expect(_.writeFileAtomicSync(file, 'first')).toEqual(E.right(undefined));
    expect(readFileSync(file, 'utf8')).toBe('first');
    let i = 0;
    const r = _.writeFileAtomicSync(file, 'second', (s) => {
      if (i++ === 2) throw errnoError('EIO');
      return _.performSync(s);
    });
    expect(r._tag).toBe('Left');
    expect(readFileSync(file, 'utf8')).toBe('first');
    expect(readdirSync(dir)).toEqual(['s.txt']);
  });
});

// A child process rewrites a 4 MiB file over and over, alternating two contents, and is killed with SIGKILL
// at a few different moments. Whatever the moment, the file under the real name must be one whole version.
describe('a crash mid-write', () => {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const atomicTs = fileURLToPath(new URL('../../src/io/atomic.ts', import.meta.url));
  const size = 4 << 20;

  const runAndKill = async (dir: string, killAfterWrites: number, delayMs: number): Promise<void> => {
    const script = join(dir, 'writer.mjs');
    writeFileSync(
      script,
      `const { writeFileAtomic } = await import(${JSON.stringify('file://' + atomicTs)});
       const a = new Uint8Array(${size}).fill(0x61), b = new Uint8Array(${size}).fill(0x62);
       for (let i = 0; ; i++) {
         const r = await writeFileAtomic(${JSON.stringify(join(dir, 'target.bin'))}, i % 2 ? b : a);
         if (r._tag !== 'Right') { console.error(JSON.stringify(r)); process.exit(2); }
         process.stdout.write('w');
       }`,
    );
    const child = spawn(process.execPath, ['--import', join(here, 'support', 'register-ts.mjs'), script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      let writes = 0;
      child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`writer exited ${code}`))));
      child.stdout.on('data', (chunk: Buffer) => {
        writes += chunk.length;
        if (writes >= killAfterWrites) setTimeout(() => child.kill('SIGKILL'), delayMs);
      });
    });
  };

  it('never leaves a half-written file under the real name', async () => {
    for (const [writes, delay] of [[1, 0], [2, 3], [4, 9]] as const) {
      const dir = tmp();
      await runAndKill(dir, writes, delay);
      const bytes = readFileSync(join(dir, 'target.bin'));
      expect(bytes.length).toBe(size);
      const first = bytes[0];
      expect(first === 0x61 || first === 0x62).toBe(true);
      expect(bytes.every((b) => b === first)).toBe(true);
    }
  });
});
