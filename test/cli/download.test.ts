/**
 * `gradpipe download` through the real process against a local HTTP server on 127.0.0.1 that serves the
 * MNIST files (their checksums must match the committed list), then with one mirror serving damaged bytes.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, MNIST, rmTmp, runCli, tmp } from './helpers.js';

let dir: string;
let server: Server;
let base: string;
const requests: string[] = [];

beforeAll(async () => {
  ensureBuilt();
  dir = tmp();
  server = createServer((req, res) => {
    const url = req.url ?? '/';
    requests.push(url);
    const [, mirror, name] = /^\/(good|bad)\/([\w.-]+)$/.exec(url) ?? [];
    const file = name === undefined ? undefined : join(MNIST, name);
    if (file === undefined || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    const bytes = readFileSync(file);
    if (mirror === 'bad') bytes[bytes.length - 9] = bytes[bytes.length - 9]! ^ 0xff; // the gzip CRC no longer matches
    res.writeHead(200, { 'content-length': String(bytes.length) }).end(bytes);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmTmp(dir);
});

describe('gradpipe download', () => {
  it('fetches the four files, skipping a damaged mirror, and keeps intact copies on the next run', async () => {
    const target = join(dir, 'mnist');
    const r = await runCli(['download', '--data', target, '--mirror', `${base}/bad/`, '--mirror', `${base}/good/`], { cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(target).sort()).toEqual(['t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz', 'train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz']);
    for (const f of readdirSync(target)) expect(readFileSync(join(target, f)).equals(readFileSync(join(MNIST, f)))).toBe(true);
    expect(r.stdout).toMatch(/MNIST is ready in .* \(4 downloaded, 0 already present\)/);
    expect(requests.filter((u) => u.startsWith('/bad/'))).toHaveLength(4);

    const again = await runCli(['download', '--data', target, '--mirror', `${base}/good/`], { cwd: dir });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/\(0 downloaded, 4 already present\)/);

    // and the data resolution finds it through GRADPIPE_DATA
    const info = await runCli(['info', '--json'], { cwd: dir, env: { GRADPIPE_DATA: target } });
    expect(info.code, info.stderr).toBe(0);
    expect(JSON.parse(info.stdout).data).toEqual({ found: true, dir: target, source: 'env' });
  });

  it('fails in one line when no mirror has a good copy, leaving no partial file', async () => {
    const target = join(dir, 'none');
    const r = await runCli(['download', '--data', target, '--mirror', `${base}/bad/`], { cwd: dir });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^gradpipe: .*train-images-idx3-ubyte\.gz: could not download a good copy from any mirror .*; check the network/);
    expect(readdirSync(target)).toEqual([]);
    const bad = await runCli(['download', '--mirror', 'ftp://x'], { cwd: dir });
    expect([bad.code, bad.stderr]).toEqual([1, "gradpipe: --mirror: 'ftp://x' is not an http(s) URL; give a base URL such as https://example.org/mnist/\n"]);
  });
});
