import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as _ from '../../src/data/download.js';
import { parseChecksums } from '../../src/data/checksums.js';
import { encodeIdx, readIdx, type Idx } from '../../src/data/idx.js';
import { MNIST_NAMES } from '../../src/data/mnistFiles.js';
import { left, right, withTmpDir } from './helpers.js';

/** Small stand-ins for the four files, their gzip bytes and the checksums of their decompressed bytes. */
const idxOf = (name: string, i: number): Idx =>
  name.includes('images') ? { dims: [3, 2, 2], data: Uint8Array.from({ length: 12 }, (_v, k) => (k * 7 + i) % 256) } : { dims: [3], data: Uint8Array.from([i, 1, 2]) };
const files = new Map<string, Idx>(MNIST_NAMES.map((n, i) => [n, idxOf(n, i)]));
const served = new Map<string, Uint8Array>([...files].map(([n, idx]) => [n, encodeIdx(idx, { gzip: true })]));
const checksums = new Map<string, string>([...files].map(([n, idx]) => [n, createHash('sha256').update(encodeIdx(idx)).digest('hex')]));

/** Mirrors: /fail answers 500, /corrupt serves other (valid gzip) data, /broken damaged gzip, /good the files. */
const hits = new Map<string, number>();
let server: Server;
let base = '';
let closedPort = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    const [, mirror = '', file = ''] = (req.url ?? '').split('/');
    hits.set(mirror, (hits.get(mirror) ?? 0) + 1);
    const body = served.get(file.replace(/\.gz$/, ''));
    if (mirror === 'fail' || body === undefined) {
      res.writeHead(mirror === 'fail' ? 500 : 404).end();
      return;
    }
    let bytes = body;
    if (mirror === 'corrupt') bytes = encodeIdx({ dims: [1], data: Uint8Array.from([42]) }, { gzip: true });
    if (mirror === 'broken') bytes = Uint8Array.from(body.subarray(0, body.length - 6));
    res.writeHead(200, { 'content-length': String(bytes.length) }).end(bytes);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  closedPort = (probe.address() as AddressInfo).port;
  await new Promise((r) => probe.close(r));
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
});

const mirrors = (...names: string[]): string[] => names.map((m) => `${base}/${m}/`);

describe('downloadMnist', () => {
  it('falls back past a failing and a corrupt mirror, stores verified files, and reports progress', async () => {
    await withTmpDir(async (dir) => {
      hits.clear();
      const progress: _.DownloadProgress[] = [];
      const got = right(await _.downloadMnist({ dir, mirrors: mirrors('fail', 'corrupt', 'broken', 'good'), checksums, onProgress: (p) => progress.push(p) }));
      expect(got.map((f) => [f.name, f.status, f.path, f.url])).toEqual(
        MNIST_NAMES.map((n) => [n, 'downloaded', join(dir, `${n}.gz`), `${base}/good/${n}.gz`]),
      );
      expect(Object.fromEntries(hits)).toEqual({ fail: 4, corrupt: 4, broken: 4, good: 4 });
      for (const [n, idx] of files) expect(right(await readIdx(join(dir, `${n}.gz`)))).toEqual(idx);
      expect((await readdir(dir)).sort()).toEqual(MNIST_NAMES.map((n) => `${n}.gz`).sort());
      for (const n of MNIST_NAMES) {
        const good = progress.filter((p) => p.file === n && p.url.includes('/good/'));
        const size = served.get(n)!.length;
        expect(good.every((p) => p.total === size)).toBe(true);
        expect(good.map((p) => p.done)).toEqual([...good.map((p) => p.done)].sort((a, b) => a - b));
        expect(good.at(-1)?.done).toBe(size);
      }
    });
  });

  it('skips files already present and valid, gzipped or raw', async () => {
    await withTmpDir(async (dir) => {
      const [first, ...rest] = MNIST_NAMES as [string, ...string[]];
      await writeFile(join(dir, first), encodeIdx(files.get(first)!));
      for (const n of rest) await writeFile(join(dir, `${n}.gz`), served.get(n)!);
      hits.clear();
      const got = right(await _.downloadMnist({ dir, mirrors: mirrors('good'), checksums }));
      expect(got.map((f) => f.status)).toEqual(['present', 'present', 'present', 'present']);
      expect(got[0]!.path).toBe(join(dir, first));
      expect(hits.size).toBe(0);
    });
  });

  it('replaces a copy that fails its checksum', async () => {
    await withTmpDir(async (dir) => {
      const n = MNIST_NAMES[1]!;
      await writeFile(join(dir, n), encodeIdx({ dims: [1], data: Uint8Array.from([9]) }));
      const got = right(await _.downloadMnist({ dir, mirrors: mirrors('good'), checksums, names: [n] }));
      expect(got).toEqual([{ name: n, path: join(dir, `${n}.gz`), status: 'downloaded', url: `${base}/good/${n}.gz` }]);
      expect(await readdir(dir)).toEqual([`${n}.gz`]);
    });
  });

  it('with no good mirror: a clear error naming each failure, and nothing left under the real name', async () => {
    await withTmpDir(async (dir) => {
      const dead = `http://127.0.0.1:${closedPort}`; // no trailing slash: one is added
      const e = left(await _.downloadMnist({ dir, mirrors: [...mirrors('fail', 'corrupt', 'broken'), dead], checksums }));
      const n = MNIST_NAMES[0]!;
      expect(e).toMatchObject({ _tag: 'DataError', where: join(dir, `${n}.gz`) });
      expect(e.message).toContain(`${base}/fail/${n}.gz: HTTP 500`);
      expect(e.message).toContain(`${base}/corrupt/${n}.gz: checksum mismatch (expected ${checksums.get(n)}, got `);
      expect(e.message).toContain(`${base}/broken/${n}.gz: gzip stream ends early`);
      expect(e.message).toContain(`${dead}/${n}.gz: ECONNREFUSED`);
      expect(await readdir(dir)).toEqual([]);
    });
  });

  it('refuses a file with no checksum before downloading anything', async () => {
    await withTmpDir(async (dir) => {
      hits.clear();
      const e = left(await _.downloadMnist({ dir, mirrors: mirrors('good'), checksums: new Map() }));
      expect(e.message).toMatch(/no entry in the checksum list/);
      expect(hits.size).toBe(0);
    });
  });
});

describe('checksum lists', () => {
  it('parse sha256sum output, with comments, `*` markers and .gz names', () => {
    const a = 'ab'.repeat(32);
    const b = 'CD'.repeat(32);
    expect(right(parseChecksums(`# header\n\n${a}  one\n${b} *two.gz\n`, 'x'))).toEqual(new Map([['one', a], ['two', 'cd'.repeat(32)]]));
    expect(left(parseChecksums('nope one\n', 'list')).message).toBe('line 1 is not "<sha256>  <file name>"');
  });

  it('the committed data/mnist.sha256 holds the four MNIST names', async () => {
    const file = new URL('../../data/mnist.sha256', import.meta.url);
    const sums = right(parseChecksums(await readFile(file, 'utf8'), 'data/mnist.sha256'));
    expect([...sums.keys()].sort()).toEqual([...MNIST_NAMES].sort());
  });
});
