/**
 * Where the bytes of an IDX file come from (a file on disk or bytes in memory), whether they are gzipped,
 * and the most they can plausibly decompress to. Reading is lazy and streamed, so a caller can check an
 * IDX header against these bounds before allocating anything for the body.
 */
import { open } from 'node:fs/promises';
import { Readable, pipeline } from 'node:stream';
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import * as E from 'fp-ts/lib/Either.js';
import { dataError, GradpipeException, type GradpipeError } from '../errors.js';

import type { StoredBytes } from './idxHeader.js';

/** A gzip stream has a 10-byte header and an 8-byte trailer (CRC-32, ISIZE) around its deflate data. */
const GZIP_MIN_BYTES = 18;

/** The read size of `fs.createReadStream`, used for bytes in memory too. */
const READ_CHUNK = 64 * 1024;

export interface ByteSource extends StoredBytes {
  /** The stored bytes from the start; a new stream on every call. */
  readonly open: () => Readable;
}

const REDOWNLOAD = 'the file is damaged: download it again (gradpipe download) or regenerate it';

const isGzipMagic = (head: Uint8Array): boolean => head[0] === 0x1f && head[1] === 0x8b;

const checkStored = (where: string, size: number, head: Uint8Array, tail: Uint8Array): E.Either<GradpipeError, Omit<ByteSource, 'open'>> => {
  if (size === 0) return E.left(dataError(where, 'the file is empty', REDOWNLOAD));
  const gzip = isGzipMagic(head);
  if (!gzip) return E.right({ where, size, gzip, isize: undefined });
  if (size < GZIP_MIN_BYTES) {
    return E.left(dataError(where, `gzip file of ${size} bytes is truncated (a gzip stream has at least ${GZIP_MIN_BYTES})`, REDOWNLOAD));
  }
  const isize = new DataView(tail.buffer, tail.byteOffset, 4).getUint32(0, true);
  return E.right({ where, size, gzip, isize });
};

/** Pieces the size a file stream reads, so bytes in memory are decompressed with the same back-pressure. */
function* pieces(bytes: Uint8Array): Generator<Buffer> {
  for (let at = 0; at < bytes.length; at += READ_CHUNK) yield Buffer.from(bytes.buffer, bytes.byteOffset + at, Math.min(READ_CHUNK, bytes.length - at));
}

/** A source over bytes already in memory (the bytes are not copied; do not change them while reading). */
export const bytesSource = (bytes: Uint8Array, where: string): E.Either<GradpipeError, ByteSource> =>
  E.map((s: Omit<ByteSource, 'open'>) => ({
    ...s,
    open: () => Readable.from(pieces(bytes), { objectMode: false }),
  }))(checkStored(where, bytes.length, bytes.subarray(0, 2), bytes.subarray(Math.max(0, bytes.length - 4))));

const fsProblem = (file: string, e: unknown): GradpipeError => {
  const code = (e as { code?: unknown } | null)?.code;
  switch (code) {
    case 'ENOENT':
      return dataError(file, 'file not found', 'check the path, pass --data DIR, or fetch MNIST with gradpipe download');
    case 'EACCES':
    case 'EPERM':
      return dataError(file, 'permission denied while reading', 'make the file readable (chmod +r) or copy it somewhere readable');
    case 'EISDIR':
      return dataError(file, 'is a directory, not a file', 'pass the IDX file inside it, or use --data DIR for a data directory');
    default:
      return dataError(file, `cannot read the file (${String(code ?? (e as Error)?.message ?? e)})`, 'check that the path names a readable file');
  }
};

/** A source over a file: checks it is a readable non-empty regular file, and reads its gzip trailer. */
export const fileSource = async (file: string): Promise<E.Either<GradpipeError, ByteSource>> => {
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (e) {
    return E.left(fsProblem(file, e));
  }
  try {
    const st = await fh.stat();
    if (st.isDirectory()) return E.left(fsProblem(file, { code: 'EISDIR' }));
    // A FIFO or device could block forever or never end: refuse anything but a regular file.
    if (!st.isFile()) return E.left(dataError(file, 'is not a regular file', 'pass a regular IDX file'));
    const head = new Uint8Array(2);
    const tail = new Uint8Array(4);
    await fh.read(head, 0, Math.min(2, st.size), 0);
    if (st.size >= 4) await fh.read(tail, 0, 4, st.size - 4);
    return E.map((s: Omit<ByteSource, 'open'>) => ({ ...s, open: () => createReadStream(file) }))(checkStored(file, st.size, head, tail));
  } catch (e) {
    return E.left(fsProblem(file, e));
  } finally {
    await fh.close().catch(() => undefined);
  }
};

const streamProblem = (where: string, e: unknown): GradpipeError => {
  const code = String((e as { code?: unknown } | null)?.code ?? '');
  const msg = String((e as Error | null)?.message ?? e);
  if (code === 'Z_BUF_ERROR') return dataError(where, 'gzip stream ends early: the file is truncated', REDOWNLOAD);
  if (code.startsWith('Z_') || code.startsWith('ERR_ZLIB')) return dataError(where, `corrupt gzip data (${msg})`, REDOWNLOAD);
  return fsProblem(where, e);
};

/**
 * The decompressed contents of `source`, in chunks, streamed with bounded memory. Read, gzip and
 * integrity (CRC-32, length) failures are thrown as `GradpipeException`s carrying a `DataError`.
 * Stopping early (break, return) closes the file.
 */
export async function* contents(source: ByteSource): AsyncGenerator<Uint8Array, void, undefined> {
  const raw = source.open();
  const stream = source.gzip ? pipeline(raw, createGunzip({ chunkSize: 256 * 1024 }), () => undefined) : raw;
  try {
    for await (const chunk of stream as AsyncIterable<Uint8Array>) yield chunk;
  } catch (e) {
    throw new GradpipeException(streamProblem(source.where, e));
  } finally {
    stream.destroy();
    raw.destroy();
  }
}
