/**
 * A PNG's structure checked chunk by chunk before it is decoded, so that a damaged file is described in
 * gradpipe's words (which chunk, at which byte, truncated or corrupted) instead of the decoder's internals.
 *
 * From the PNG specification: after the 8-byte signature come chunks of a 4-byte big-endian length, a
 * 4-letter type, the data and a CRC-32 of type and data; IHDR first (width, height, bit depth, colour type,
 * compression 0, filter 0, interlace 0 or 1), at least one IDAT, IEND last.
 */
import { inflateSync } from 'node:zlib';

const CRC_TABLE = Array.from({ length: 256 }, (_x, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

const crc32 = (b: Uint8Array, from: number, to: number): number => {
  let c = 0xffffffff;
  for (let i = from; i < to; i++) c = CRC_TABLE[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
};

// bit depths each colour type allows
const DEPTHS: Readonly<Record<number, readonly number[]>> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };

const isChunkName = (b: Uint8Array, at: number): boolean => {
  for (let i = at; i < at + 4; i++) {
    const c = b[i]!;
    if (!((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a))) return false;
  }
  return true;
};

const CHANNELS: Readonly<Record<number, number>> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
// Adam7: first column, first row, column step, row step of the seven passes
const ADAM7 = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]] as const;

/** The filtered rows of the image, as (row count, bytes per row without its filter byte), pass by pass. */
const rowsOf = (width: number, height: number, bitsPerPixel: number, interlaced: boolean): [number, number][] => {
  const passes = interlaced ? ADAM7 : ([[0, 0, 1, 1]] as const);
  const out: [number, number][] = [];
  for (const [x0, y0, dx, dy] of passes) {
    const cols = width > x0 ? Math.ceil((width - x0) / dx) : 0;
    const rows = height > y0 ? Math.ceil((height - y0) / dy) : 0;
    if (cols > 0 && rows > 0) out.push([rows, Math.ceil((cols * bitsPerPixel) / 8)]);
  }
  return out;
};

/**
 * What is wrong with PNG `b` (signature already checked), or undefined when it is sound: its chunks, then,
 * unless `pixels` is false, its pixel data (decompressed; its length and each row's filter type checked).
 * The decoder gives no such check: it pads missing or undecodable pixel data with zeros.
 */
export const pngProblem = (b: Uint8Array, pixels = true): string | undefined => {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let sawData = false;
  const data: Uint8Array[] = [];
  let header = { width: 0, height: 0, depth: 0, colour: 0, interlaced: false };
  for (let at = 8, index = 0; ; index++) {
    if (at + 8 > b.length) return `is truncated: it ends at byte ${b.length}, ${index === 0 ? 'before its header (IHDR)' : 'before its end marker (IEND)'}`;
    const length = v.getUint32(at);
    if (!isChunkName(b, at + 4)) return `is corrupted: the chunk at byte ${at} has no valid name`;
    const type = String.fromCharCode(...b.subarray(at + 4, at + 8));
    if (index === 0 && type !== 'IHDR') return `is corrupted: its first chunk is ${type}, not the header (IHDR)`;
    const end = at + 12 + length;
    if (length > 0x7fffffff || end > b.length) return `is truncated: its ${type} chunk at byte ${at} needs ${length} bytes of data but the file ends at byte ${b.length}`;
    if (crc32(b, at + 4, at + 8 + length) !== v.getUint32(at + 8 + length)) return `is corrupted: its ${type} chunk at byte ${at} fails its checksum (CRC-32)`;
    if (type === 'IHDR') {
      if (length !== 13) return `is corrupted: its header (IHDR) has ${length} bytes, not 13`;
      const [width, height, depth, colour] = [v.getUint32(at + 8), v.getUint32(at + 12), b[at + 16]!, b[at + 17]!];
      if (width === 0 || height === 0) return `declares a ${width}x${height} image: an image needs at least one pixel`;
      if (!(DEPTHS[colour] ?? []).includes(depth)) return `declares colour type ${colour} with bit depth ${depth}, a combination PNG does not define`;
      if (b[at + 18] !== 0 || b[at + 19] !== 0 || b[at + 20]! > 1) return 'declares a compression, filter or interlace method PNG does not define';
      header = { width, height, depth, colour, interlaced: b[at + 20] === 1 };
    }
    if (type === 'IDAT') {
      sawData = true;
      data.push(b.subarray(at + 8, at + 8 + length));
    }
    if (type === 'IEND') {
      if (!sawData) return 'has no image data (IDAT chunk)';
      return pixels ? pixelProblem(data, header) : undefined;
    }
    at = end;
  }
};

const pixelProblem = (data: Uint8Array[], h: { width: number; height: number; depth: number; colour: number; interlaced: boolean }): string | undefined => {
  const rows = rowsOf(h.width, h.height, h.depth * CHANNELS[h.colour]!, h.interlaced);
  const need = rows.reduce((n, [count, bytes]) => n + count * (1 + bytes), 0);
  let raw: Uint8Array;
  try {
    raw = inflateSync(Buffer.concat(data), { maxOutputLength: need + 1 });
  } catch (e) {
    return e instanceof RangeError
      ? `is corrupted: its pixel data (IDAT) decompresses to more than the ${need} bytes its ${h.width}x${h.height} size needs`
      : 'is corrupted: its compressed pixel data (IDAT) cannot be decompressed';
  }
  if (raw.length !== need) return `is ${raw.length < need ? 'truncated' : 'corrupted'}: its pixel data (IDAT) holds ${raw.length} bytes, but its ${h.width}x${h.height} size needs ${need}`;
  let at = 0;
  for (const [count, bytes] of rows) {
    for (let r = 0; r < count; r++, at += 1 + bytes) {
      if (raw[at]! > 4) return `is corrupted: a row of its pixel data has filter type ${raw[at]}, which PNG does not define`;
    }
  }
  return undefined;
};
