/**
 * `gradpipe serve`: one clear line and exit 1 for a port in use or missing data; otherwise the page, the
 * wasm builds and the data files with the isolation headers, nothing outside them, and exit 0 on SIGINT.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, mnistSliceDir, rmTmp, ROOT, runCli } from './helpers.js';

let slice: { dir: string; data: string };
beforeAll(() => {
  slice = mnistSliceDir(50, 20);
  spawnSync(process.execPath, [join(ROOT, 'pipelines/web/build.mjs')], { stdio: 'inherit' });
});
afterAll(() => rmTmp(slice.dir));

describe('gradpipe serve', () => {
  it('a port in use is one line naming --port, exit 1', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    const r = await runCli(['serve', '--port', String(port), '--data', slice.data]);
    blocker.close();
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(new RegExp(`--port.*${port}.*in use`));
  });

  it('missing data is one line naming --data and saying how to get it, exit 1', async () => {
    const r = await runCli(['serve', '--port', '0', '--data', join(slice.dir, 'nothing-here')]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--data.*nothing-here.*gradpipe download/);
  });

  it('serves the page, the wasm and the data with the isolation headers, nothing else, until SIGINT', async () => {
    const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--data', slice.data], { stdio: ['ignore', 'pipe', 'pipe'] });
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        const m = /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(String(d));
        if (m) resolve(m[1]!);
      });
      child.on('close', (code) => reject(new Error(`serve exited with ${code}`)));
    });
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(page.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(page.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
    expect(await page.text()).toContain('/app/main.js');
    const wasm = await fetch(new URL('wasm/gradpipe.wasm', url));
    expect([wasm.status, wasm.headers.get('content-type')]).toEqual([200, 'application/wasm']);
    const images = await fetch(new URL('data/train-images-idx3-ubyte', url));
    expect(new Uint8Array(await images.arrayBuffer())).toEqual(new Uint8Array(readFileSync(join(slice.data, 'train-images-idx3-ubyte.gz'))));
    for (const path of ['data/other', 'app/..%2F..%2Fpackage.json', 'package.json', 'wasm/../package.json']) {
      expect([path, (await fetch(new URL(path, url))).status]).toEqual([path, 404]);
    }
    const code = new Promise<number | null>((r) => child.on('close', r));
    child.kill('SIGINT');
    expect(await code).toBe(0);
  });
});
