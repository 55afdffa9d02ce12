/**
 * Fetches the four MNIST files from public mirrors, checked against committed checksums.
 *
 * For each file:
 * 1. A copy already in the directory (`NAME.gz` or `NAME`) whose decompressed SHA-256 matches is kept.
 * 2. Otherwise the mirrors are tried in order: the body streams to a temporary file in the directory
 *    (reporting progress), its decompressed SHA-256 is checked, and only then is it renamed into place,
 *    so the real name never holds a partial or corrupt file. Any failure (HTTP error, network error,
 *    damaged gzip, checksum mismatch) removes the temporary file and moves on to the next mirror.
 * 3. A copy that failed its checksum in step 1 is removed once a good one is in place.
 */
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { dataError, gradpipeError, type GradpipeError } from '../errors.js';
import { contentsSha256, defaultChecksumsFile, readChecksums, type Checksums } from './checksums.js';
import { isFile, mnistCandidates, MNIST_NAMES } from './mnistFiles.js';
import { fileSource } from './source.js';

/** Public mirrors of the canonical gzip files, tried in order. */
export const MNIST_MIRRORS: readonly string[] = ['https://ossci-datasets.s3.amazonaws.com/mnist/', 'https://storage.googleapis.com/cvdf-datasets/mnist/'];

export const DEFAULT_DOWNLOAD_DIR = 'data/mnist';

/** Bytes of one file received so far, and its size when the server said. */
export interface DownloadProgress {
  readonly file: string;
  readonly url: string;
  readonly done: number;
  /** From Content-Length; undefined when the server does not say. */
  readonly total: number | undefined;
}

/** Where to download to, from where, checked against what, and how to report progress. */
export interface DownloadOptions {
  /** Default `data/mnist`, relative to the working directory. */
  readonly dir?: string;
  /** Base URLs; `NAME.gz` is appended. Default `MNIST_MIRRORS`. */
  readonly mirrors?: readonly string[];
  /** Default: the committed list `data/mnist.sha256`. */
  readonly checksums?: Checksums;
  /** Default: the four MNIST names. */
  readonly names?: readonly string[];
  /** Called as bytes arrive (for a progress bar). */
  readonly onProgress?: (p: DownloadProgress) => void;
  /** Per attempt; default 5 minutes. */
  readonly timeoutMs?: number;
}

/** One file `downloadMnist` made sure of: downloaded now, or already present and valid. */
export interface DownloadedFile {
  readonly name: string;
  readonly path: string;
  readonly status: 'present' | 'downloaded';
  /** Where it came from, when downloaded. */
  readonly url?: string;
}

const problem = (e: unknown): string => {
  const err = e as { cause?: { code?: unknown; message?: unknown }; name?: unknown; message?: unknown };
  if (err?.name === 'TimeoutError') return 'timed out';
  return String(err?.cause?.code ?? err?.cause?.message ?? err?.message ?? e);
};

let tmpCounter = 0;

/** Streams `url` into `tmp`; a reason for failure, or undefined. */
const fetchTo = async (url: string, tmp: string, name: string, opts: DownloadOptions): Promise<string | undefined> => {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(opts.timeoutMs ?? 300_000) });
  } catch (e) {
    return problem(e);
  }
  if (!res.ok || res.body === null) {
    await res.body?.cancel().catch(() => undefined);
    return `HTTP ${res.status}`;
  }
  const length = Number(res.headers.get('content-length'));
  const total = Number.isFinite(length) && length > 0 ? length : undefined;
  let fh;
  try {
    fh = await open(tmp, 'wx');
    let done = 0;
    opts.onProgress?.({ file: name, url, done, total });
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      for (let at = 0; at < chunk.length; ) at += (await fh.write(chunk, at, chunk.length - at)).bytesWritten;
      done += chunk.length;
      opts.onProgress?.({ file: name, url, done, total });
    }
    return undefined;
  } catch (e) {
    return problem(e);
  } finally {
    await fh?.close().catch(() => undefined);
  }
};

/** Fetches one file from the first mirror that serves it intact; the path it was stored at. */
const fetchOne = async (dir: string, name: string, expected: string, mirrors: readonly string[], opts: DownloadOptions): Promise<E.Either<GradpipeError, DownloadedFile>> => {
  const failures: string[] = [];
  for (const mirror of mirrors) {
    const url = `${mirror.endsWith('/') ? mirror : `${mirror}/`}${name}.gz`;
    const tmp = join(dir, `.${name}.${process.pid}.${tmpCounter++}.tmp`);
    try {
      const failed = await fetchTo(url, tmp, name, opts);
      if (failed !== undefined) {
        failures.push(`${url}: ${failed}`);
        continue;
      }
      const sha = await contentsSha256(tmp);
      if (E.isLeft(sha)) {
        failures.push(`${url}: ${sha.left.message}`);
        continue;
      }
      if (sha.right !== expected) {
        failures.push(`${url}: checksum mismatch (expected ${expected}, got ${sha.right})`);
        continue;
      }
      const source = await fileSource(tmp);
      const path = join(dir, E.isRight(source) && !source.right.gzip ? name : `${name}.gz`);
      await rename(tmp, path);
      return E.right({ name, path, status: 'downloaded', url });
    } catch (e) {
      failures.push(`${url}: ${problem(e)}`);
    } finally {
      await rm(tmp, { force: true }).catch(() => undefined);
    }
  }
  return E.left(
    dataError(join(dir, `${name}.gz`), `could not download a good copy from any mirror (${failures.join('; ') || 'no mirrors given'})`, `check the network and try again, or put the files in ${dir} by hand (their checksums are in data/mnist.sha256)`),
  );
};

/**
 * Ensures `opts.dir` (default data/mnist) holds a good copy of each MNIST file, downloading what is
 * missing or damaged from `opts.mirrors` (see the module comment for the steps). Uses the global fetch.
 */
export const downloadMnist = async (opts: DownloadOptions = {}): Promise<E.Either<GradpipeError, readonly DownloadedFile[]>> => {
  const dir = opts.dir ?? DEFAULT_DOWNLOAD_DIR;
  const names = opts.names ?? MNIST_NAMES;
  const mirrors = opts.mirrors ?? MNIST_MIRRORS;
  let checksums = opts.checksums;
  if (checksums === undefined) {
    const read = await readChecksums(defaultChecksumsFile());
    if (E.isLeft(read)) return read;
    checksums = read.right;
  }
  try {
    await mkdir(dir, { recursive: true });
  } catch (e) {
    return E.left(gradpipeError('IOError', dir, `cannot create the directory (${problem(e)})`, 'choose a writable directory'));
  }
  const results: DownloadedFile[] = [];
  for (const name of names) {
    const expected = checksums.get(name);
    if (expected === undefined) return E.left(dataError(name, 'has no entry in the checksum list', 'add its SHA-256 to the checksum list, or leave it out'));
    const stale: string[] = [];
    let present: string | undefined;
    for (const path of mnistCandidates(dir, name).filter(isFile)) {
      const sha = await contentsSha256(path);
      if (E.isRight(sha) && sha.right === expected) {
        present = path;
        break;
      }
      stale.push(path);
    }
    if (present !== undefined) {
      results.push({ name, path: present, status: 'present' });
      continue;
    }
    const got = await fetchOne(dir, name, expected, mirrors, opts);
    if (E.isLeft(got)) return got;
    for (const path of stale.filter((p) => p !== got.right.path)) await rm(path, { force: true }).catch(() => undefined);
    results.push(got.right);
  }
  return E.right(results);
};
