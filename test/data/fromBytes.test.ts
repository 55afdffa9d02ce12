/**
 * Datasets from bytes and over HTTP (the page's way in) equal what `loadMnist` reads from a folder, and
 * bad bytes or a missing file give an error naming it.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMnist } from '../../src/data/dataset.js';
import { fetchMnist } from '../../src/data/fetchMnist.js';
import { datasetFromBytes, idxFromBytes, mnistFromBytes } from '../../src/data/fromBytes.js';
import { rmTmp, tmp, writeMnistSlice } from '../cli/helpers.js';

const dir = tmp();
let server: Server;
let base = '';

beforeAll(async () => {
  writeMnistSlice(dir, 300, 100); // train files gzipped, test files raw
  // serves NAME as NAME.gz or NAME, as stored (what gradpipe serve does)
  server = createServer((req, res) => {
    const name = decodeURIComponent((req.url ?? '').replace(/^\/data\//, ''));
    const file = readdirSync(dir).find((f) => f === name || f === `${name}.gz`);
    if (file === undefined) return void res.writeHead(404).end();
    res.writeHead(200).end(readFileSync(join(dir, file)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/data/`;
});
afterAll(() => {
  server.close();
  rmTmp(dir);
});

const raw = (name: string): Uint8Array => {
  const files = readdirSync(dir);
  return files.includes(`${name}.gz`) ? new Uint8Array(gunzipSync(readFileSync(join(dir, `${name}.gz`)))) : new Uint8Array(readFileSync(join(dir, name)));
};

describe('fromBytes', () => {
  it('mnistFromBytes gives what loadMnist reads from the folder', async () => {
    const files = loadMnist(dir);
    const named = (name: string) => ({ where: name, bytes: raw(name) });
    const fromBytes = mnistFromBytes({
      trainImages: named('train-images-idx3-ubyte'),
      trainLabels: named('train-labels-idx1-ubyte'),
      testImages: named('t10k-images-idx3-ubyte'),
      testLabels: named('t10k-labels-idx1-ubyte'),
    });
    expect(fromBytes).toEqual(await files);
    expect(E.isRight(fromBytes) && fromBytes.right.train.count).toBe(300);
  });

  it('fetchMnist over HTTP (gzipped and raw files) gives what loadMnist reads', async () => {
    expect(await fetchMnist(base)).toEqual(await loadMnist(dir));
  });

  it('a missing file is an error naming its URL', async () => {
    const got = await fetchMnist(base.replace('/data/', '/nothing/'));
    expect(E.isLeft(got) && got.left.where).toMatch(/\/nothing\/train-images-idx3-ubyte$/);
    expect(E.isLeft(got) && got.left.message).toContain('404');
  });

  it('truncated, gzipped or swapped bytes are errors naming where they came from', () => {
    const images = { where: 'imgs', bytes: raw('t10k-images-idx3-ubyte') };
    const labels = { where: 'lbls', bytes: raw('t10k-labels-idx1-ubyte') };
    const cut = idxFromBytes({ where: 'cut', bytes: images.bytes.subarray(0, 1000) });
    expect(E.isLeft(cut) && [cut.left.where, cut.left.message]).toEqual(['cut', expect.stringContaining('truncated')]);
    const gz = idxFromBytes({ where: 'gz', bytes: readFileSync(join(dir, 'train-labels-idx1-ubyte.gz')) });
    expect(E.isLeft(gz) && gz.left.message).toContain('gzipped');
    const swapped = datasetFromBytes(labels, images);
    expect(E.isLeft(swapped) && swapped.left.where).toBe('lbls');
    expect(E.isRight(datasetFromBytes(images, labels))).toBe(true);
  });
});
