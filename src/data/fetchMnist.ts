/**
 * The MNIST layout fetched over HTTP, for a page (`gradpipe serve` serves a data folder at `/data/`): each
 * of the four files is fetched as `NAME` (the server sends `NAME.gz` or `NAME`, whichever it has, as
 * stored), decompressed with `DecompressionStream` when it is gzipped, and checked as `loadMnist` checks
 * files. Uses only web platform globals, which Node 20 has too.
 */
import * as E from 'fp-ts/lib/Either.js';
import { dataError, type GradpipeError } from '../errors.js';
import type { Dataset } from './layout.js';
import { mnistFromBytes, type MnistBytes, type NamedBytes } from './fromBytes.js';
import type { DatasetOptions } from './layout.js';
import { MNIST_FILES } from './mnistNames.js';

const gunzip = async (bytes: Uint8Array): Promise<Uint8Array> =>
  new Uint8Array(await new Response(new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('gzip'))).arrayBuffer());

const fetchOne = async (url: string): Promise<E.Either<GradpipeError, NamedBytes>> => {
  const hint = 'serve a folder holding the four MNIST files (gradpipe serve --data DIR; gradpipe download fetches them)';
  try {
    const res = await fetch(url);
    if (!res.ok) return E.left(dataError(url, `HTTP ${res.status}${res.status === 404 ? ': not found' : ''}`, hint));
    const bytes = new Uint8Array(await res.arrayBuffer());
    return E.right({ where: url, bytes: bytes[0] === 0x1f && bytes[1] === 0x8b ? await gunzip(bytes) : bytes });
  } catch (e) {
    return E.left(dataError(url, `cannot be fetched or decompressed (${e instanceof Error ? e.message : String(e)})`, hint));
  }
};

/** The train and test sets from the four files under `base` (a folder URL ending in `/`). */
export const fetchMnist = async (base: string | URL, opts: DatasetOptions = {}): Promise<E.Either<GradpipeError, { train: Dataset<Uint8Array>; test: Dataset<Uint8Array> }>> => {
  const roles = Object.keys(MNIST_FILES) as (keyof typeof MNIST_FILES)[];
  const got = await Promise.all(roles.map((r) => fetchOne(new URL(MNIST_FILES[r], base).href)));
  const failed = got.find(E.isLeft);
  if (failed !== undefined) return failed;
  const files = Object.fromEntries(roles.map((r, i) => [r, (got[i] as E.Right<NamedBytes>).right])) as unknown as MnistBytes;
  return mnistFromBytes(files, opts);
};
