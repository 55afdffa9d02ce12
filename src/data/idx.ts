/**
 * The IDX file format (LeCun's MNIST format), gzipped or raw, for unsigned-byte arrays of 1 to 3 dims.
 *
 * Layout: two zero bytes, a dtype byte (0x08 = uint8), a dims byte, one big-endian uint32 per dim,
 * then the data, row-major. MNIST labels are magic 0x00000801 (1-D), images 0x00000803 (3-D).
 *
 * Its law (the write-then-read round trip) is stated on `decodeIdx` below.
 *
 * Reading is streamed: the header is read and checked against the most the file can hold (its size if
 * raw; the gzip trailer's ISIZE and 1032 times its size if gzipped) before the body is allocated, so a
 * header claiming more than the file holds fails fast and allocates nothing.
 */
import { gzipSync } from 'node:zlib';
import { constants as bufferConstants } from 'node:buffer';
import * as E from 'fp-ts/lib/Either.js';
import { dataError, GradpipeException, type GradpipeError } from '../errors.js';
import { bytesSource, contents, fileSource, type ByteSource } from './source.js';
import { checkMagic, checkPlausible, DAMAGED, describeHeader, IDX_UINT8, MAX_IDX_DIMS, parseIdxHeader, type IdxHeader } from './idxHeader.js';

export { IDX_UINT8, MAX_IDX_DIMS, parseIdxHeader, type IdxHeader } from './idxHeader.js';

/** An unsigned-byte array of 1 to 3 dims, row-major. */
export interface Idx {
  readonly dims: readonly number[];
  readonly data: Uint8Array;
}

/** An IDX file opened for streaming: its checked header, and its body in chunks. */
export interface IdxStream {
  readonly where: string;
  readonly header: IdxHeader;
  /**
   * Exactly `header.bodyBytes` bytes in chunks, then a check that the file ends there (and, if
   * gzipped, that its CRC-32 matches). Failures are thrown as `GradpipeException`. Iterate it once.
   */
  readonly body: AsyncIterable<Uint8Array>;
  /** Closes the file; needed only when the body is not iterated to its end. */
  readonly close: () => Promise<void>;
}

/** Pulls decompressed bytes until the whole header is in hand; the rest of the last chunk is body. */
const readHeader = async (it: AsyncIterator<Uint8Array>, where: string): Promise<E.Either<GradpipeError, { header: IdxHeader; rest: Uint8Array }>> => {
  let buf = new Uint8Array(0);
  for (let need = 4; buf.length < need; ) {
    const r = await it.next();
    if (r.done) break;
    const next = new Uint8Array(buf.length + r.value.length);
    next.set(buf);
    next.set(r.value, buf.length);
    buf = next;
    if (buf.length >= 4) {
      // A wrong magic, dtype or dim count fails on the first 4 bytes, before reading more.
      const ndims = checkMagic(buf, where);
      if (E.isLeft(ndims)) return ndims;
      need = 4 + 4 * ndims.right;
    }
  }
  return E.map((header: IdxHeader) => ({ header, rest: buf.subarray(header.headerBytes) }))(parseIdxHeader(buf, where));
};

async function* exactBody(it: AsyncIterator<Uint8Array>, first: Uint8Array, header: IdxHeader, where: string): AsyncGenerator<Uint8Array, void, undefined> {
  let remaining = header.bodyBytes;
  const extra = (): GradpipeException =>
    new GradpipeException(dataError(where, `more data than the ${describeHeader(header)} the header claims`, DAMAGED));
  try {
    for (let chunk = first; ; ) {
      if (chunk.length > remaining) throw extra();
      if (chunk.length > 0) yield chunk;
      remaining -= chunk.length;
      // Keep reading after the last body byte: gzip checks its CRC-32 and length only at the end.
      const r = await it.next();
      if (r.done) break;
      chunk = r.value;
    }
  } finally {
    await it.return?.();
  }
  if (remaining > 0) {
    throw new GradpipeException(dataError(where, `data ends ${remaining} bytes short of the ${describeHeader(header)} the header claims: the file is truncated`, DAMAGED));
  }
}

/**
 * Opens an IDX source for streaming: reads and checks the header (magic, dtype, dims, plausible size)
 * and hands back the body as chunks. Nothing proportional to the claimed size is allocated.
 */
export const openIdxSource = async (source: ByteSource): Promise<E.Either<GradpipeError, IdxStream>> => {
  const it = contents(source);
  const close = async (): Promise<void> => {
    await it.return();
  };
  try {
    const head = await readHeader(it, source.where);
    const checked = E.flatMap(head, ({ header, rest }) => E.map(() => ({ header, rest }))(checkPlausible(header, source)));
    if (E.isLeft(checked)) {
      await close();
      return checked;
    }
    const { header, rest } = checked.right;
    return E.right({ where: source.where, header, body: exactBody(it, rest, header, source.where), close });
  } catch (e) {
    await close();
    if (e instanceof GradpipeException) return E.left(e.error);
    throw e;
  }
};

/** Opens an IDX file for streaming (see `openIdxSource`); missing, unreadable, empty files are Lefts. */
export const openIdx = async (file: string): Promise<E.Either<GradpipeError, IdxStream>> => {
  const source = await fileSource(file);
  return E.isLeft(source) ? source : openIdxSource(source.right);
};

/**
 * Reads the whole body of an opened IDX stream into one buffer of exactly `header.bodyBytes` bytes
 * (already checked to be plausible for the file); truncation, extra data and gzip damage are Lefts.
 */
export const readBody = async (stream: IdxStream): Promise<E.Either<GradpipeError, Uint8Array>> => {
  const { header, body, close, where } = stream;
  if (header.bodyBytes > bufferConstants.MAX_LENGTH) {
    await close();
    return E.left(dataError(where, `${describeHeader(header)} is too large to load at once`, 'stream it with streamExamples instead'));
  }
  let data: Uint8Array;
  try {
    data = new Uint8Array(header.bodyBytes);
  } catch {
    await close();
    return E.left(dataError(where, `not enough memory for ${describeHeader(header)}`, 'stream it with streamExamples instead, or free memory'));
  }
  let offset = 0;
  try {
    for await (const chunk of body) {
      data.set(chunk, offset);
      offset += chunk.length;
    }
  } catch (e) {
    if (e instanceof GradpipeException) return E.left(e.error);
    throw e;
  }
  return E.right(data);
};

const decodeSource = async (source: ByteSource): Promise<E.Either<GradpipeError, Idx>> => {
  const opened = await openIdxSource(source);
  if (E.isLeft(opened)) return opened;
  return E.map((data: Uint8Array) => ({ dims: opened.right.header.dims, data }))(await readBody(opened.right));
};

/**
 * Decodes IDX bytes, gzipped (detected by the magic bytes 1f 8b) or raw, into memory. Every defect is a
 * `DataError` naming `where`; the body is allocated only once the header has been found plausible.
 *
 * Law: write-then-read round trip of IDX files is the identity: decodeIdx(encodeIdx(x, o)) = right(x) for
 * every uint8 x of 1 to 3 dims, raw or gzipped.
 */
export const decodeIdx = async (bytes: Uint8Array, where = '<IDX bytes>'): Promise<E.Either<GradpipeError, Idx>> => {
  const source = bytesSource(bytes, where);
  return E.isLeft(source) ? source : decodeSource(source.right);
};

/** Reads an IDX file (`.gz` or raw, detected by content) into memory; see `decodeIdx`. */
export const readIdx = async (file: string): Promise<E.Either<GradpipeError, Idx>> => {
  const source = await fileSource(file);
  return E.isLeft(source) ? source : decodeSource(source.right);
};

/**
 * Encodes an uint8 array of 1 to 3 dims as an IDX file, gzipped if `opts.gzip`. Throws a RangeError (a
 * programmer error) when the dims are not 1 to 3 uint32 values whose product is `data.length`.
 * `decodeIdx` reads it back (its law is the round trip).
 */
export const encodeIdx = (idx: Idx, opts: { readonly gzip?: boolean; readonly level?: number } = {}): Uint8Array => {
  const { dims, data } = idx;
  if (dims.length < 1 || dims.length > MAX_IDX_DIMS) throw new RangeError(`encodeIdx: ${dims.length} dims; IDX supports 1 to ${MAX_IDX_DIMS} here`);
  if (!dims.every((d) => Number.isInteger(d) && d >= 0 && d < 2 ** 32)) throw new RangeError(`encodeIdx: dims ${dims.join('x')} are not uint32 values`);
  const size = dims.reduce((a, b) => a * b, 1);
  if (size !== data.length) throw new RangeError(`encodeIdx: dims ${dims.join('x')} need ${size} bytes, got ${data.length}`);
  const headerBytes = 4 + 4 * dims.length;
  const out = new Uint8Array(headerBytes + size);
  const view = new DataView(out.buffer);
  view.setUint8(2, IDX_UINT8);
  view.setUint8(3, dims.length);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, headerBytes);
  if (!opts.gzip) return out;
  const z = gzipSync(out, opts.level === undefined ? {} : { level: opts.level });
  return new Uint8Array(z.buffer, z.byteOffset, z.byteLength);
};
