/**
 * The IDX header: magic (two zero bytes, dtype, dim count) and one big-endian uint32 per dim, checked
 * on its own and against the most its file can hold, before anything is allocated for the body.
 */
import * as E from 'fp-ts/lib/Either.js';
import { dataError, type GradpipeError } from '../errors.js';

/** What is known of stored bytes before reading them (see source.ts, which adds how to read them). */
export interface StoredBytes {
  /** The file name (or a label for bytes in memory), used in error messages. */
  readonly where: string;
  /** Bytes as stored (compressed size for gzip). */
  readonly size: number;
  /** Detected from the magic bytes 1f 8b, whatever the name says. */
  readonly gzip: boolean;
  /** The gzip trailer's ISIZE: the uncompressed size modulo 2^32. Undefined for raw data. */
  readonly isize: number | undefined;
}

/**
 * Deflate emits at most 1032 bytes per input byte (a 258-byte match coded in two bits), so a gzip file
 * of n bytes cannot hold more than 1032 n bytes; the 18 bytes of gzip framing cover the constant.
 */
export const MAX_DEFLATE_RATIO = 1032;

/** The most bytes `source` can hold once decompressed: its size if raw, 1032 times it if gzipped. */
export const plausibleSize = (source: Pick<StoredBytes, 'size' | 'gzip'>): number =>
  source.gzip ? source.size * MAX_DEFLATE_RATIO : source.size;

export interface IdxHeader {
  /** The dtype byte; only 0x08 (uint8) is supported. */
  readonly dtype: number;
  readonly dims: readonly number[];
  /** 4 + 4 * dims.length. */
  readonly headerBytes: number;
  /** The product of the dims (one byte per element). */
  readonly bodyBytes: number;
}

export const IDX_UINT8 = 0x08;
export const MAX_IDX_DIMS = 3;

const DTYPE_NAMES: Readonly<Record<number, string>> = {
  0x08: 'uint8',
  0x09: 'int8',
  0x0b: 'int16',
  0x0c: 'int32',
  0x0d: 'float32',
  0x0e: 'float64',
};

const hex = (n: number, width: number): string => `0x${n.toString(16).padStart(width, '0')}`;
/** The hint for any damaged file. */
export const DAMAGED = 'the file is damaged or not an IDX file: download it again (gradpipe download) or regenerate it';

/** Checks the 4-byte magic (two zero bytes, dtype, dim count); the dim count when it is usable. */
export const checkMagic = (bytes: Uint8Array, where: string): E.Either<GradpipeError, number> => {
  const [z0, z1, dtype, ndims] = [bytes[0]!, bytes[1]!, bytes[2]!, bytes[3]!];
  const magic = hex(((z0 << 24) | (z1 << 16) | (dtype << 8) | ndims) >>> 0, 8);
  if (z0 !== 0 || z1 !== 0) return E.left(dataError(where, `not an IDX file (magic ${magic} does not start with two zero bytes)`, DAMAGED));
  if (dtype !== IDX_UINT8) {
    const name = DTYPE_NAMES[dtype];
    return E.left(
      name === undefined
        ? dataError(where, `unknown IDX dtype ${hex(dtype, 2)} (magic ${magic})`, DAMAGED)
        : dataError(where, `unsupported dtype ${hex(dtype, 2)} (${name}, magic ${magic}); only uint8 (0x08) IDX files are supported`, 'convert the data to unsigned bytes'),
    );
  }
  if (ndims < 1 || ndims > MAX_IDX_DIMS) {
    return E.left(dataError(where, `IDX file with ${ndims} dims (magic ${magic}); only 1 to ${MAX_IDX_DIMS} dims are supported`, DAMAGED));
  }
  return E.right(ndims);
};

/**
 * Parses the IDX header at the start of `bytes` (which may run on into the body); a `DataError` naming
 * `where` when the magic, dtype or dim count is wrong or the bytes end inside the header.
 */
export const parseIdxHeader = (bytes: Uint8Array, where: string): E.Either<GradpipeError, IdxHeader> => {
  if (bytes.length < 4) return E.left(dataError(where, `ends after ${bytes.length} bytes, inside the 4-byte IDX magic`, DAMAGED));
  return E.flatMap(checkMagic(bytes, where), (ndims) => {
    const headerBytes = 4 + 4 * ndims;
    if (bytes.length < headerBytes) return E.left(dataError(where, `ends after ${bytes.length} bytes, inside the ${headerBytes}-byte IDX header`, DAMAGED));
    const view = new DataView(bytes.buffer, bytes.byteOffset, headerBytes);
    const dims = Array.from({ length: ndims }, (_, i) => view.getUint32(4 + 4 * i, false));
    return E.right({ dtype: IDX_UINT8, dims, headerBytes, bodyBytes: dims.reduce((a, b) => a * b, 1) });
  });
};

/** `60000x28x28 = 47040000 bytes of data`, for messages. */
export const describeHeader = (h: IdxHeader): string => `${h.dims.join('x')} = ${h.bodyBytes} bytes of data`;

/** Whether the header fits what `source` can hold; checked before anything is allocated for the body. */
export const checkPlausible = (h: IdxHeader, source: StoredBytes): E.Either<GradpipeError, IdxHeader> => {
  const total = h.headerBytes + h.bodyBytes;
  const where = source.where;
  if (!source.gzip) {
    if (total > source.size) {
      return E.left(dataError(where, `header claims ${describeHeader(h)}, but only ${source.size - h.headerBytes} follow the header: the file is truncated`, DAMAGED));
    }
    if (total < source.size) {
      return E.left(dataError(where, `${source.size - total} extra bytes after the ${describeHeader(h)} the header claims`, DAMAGED));
    }
    return E.right(h);
  }
  if (total > plausibleSize(source)) {
    return E.left(dataError(where, `header claims ${describeHeader(h)}, more than a ${source.size}-byte gzip file can hold (${plausibleSize(source)})`, DAMAGED));
  }
  if (total % 2 ** 32 !== source.isize) {
    return E.left(dataError(where, `header claims ${describeHeader(h)} (${total} with the header), but the gzip trailer records ${source.isize} bytes: the file is truncated or corrupt`, DAMAGED));
  }
  return E.right(h);
};
