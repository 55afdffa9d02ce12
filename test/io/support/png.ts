/**
 * A minimal PNG writer written from the PNG specification (signature, IHDR, optional PLTE, one IDAT of
 * zlib-compressed rows each with filter byte 0, IEND; CRC-32 per chunk), independent of pngjs, used as
 * the oracle for the image decoder.
 */
import { deflateSync } from 'node:zlib';

const CRC_TABLE = Array.from({ length: 256 }, (_x, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

const crc32 = (bytes: Uint8Array): number => {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
};

const u32 = (n: number): number[] => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];

const chunk = (type: string, data: Uint8Array): number[] => {
  const typed = new Uint8Array([...[...type].map((c) => c.charCodeAt(0)), ...data]);
  return [...u32(data.length), ...typed, ...u32(crc32(typed))];
};

export interface RawPng {
  readonly width: number;
  readonly height: number;
  readonly bitDepth: 8 | 16;
  /** 0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA. */
  readonly colorType: 0 | 2 | 3 | 4 | 6;
  /** Samples row by row, `channels` per pixel (16-bit samples as numbers up to 65535). */
  readonly samples: readonly number[];
  readonly palette?: readonly (readonly [number, number, number])[];
  /** The filter type byte of every row (default 0, none); PNG defines 0 to 4. */
  readonly filter?: number;
  /** Adam7 interlacing: seven passes over the pixel grid, each its own rows of filter byte and samples. */
  readonly interlaced?: boolean;
}

// Adam7 from the specification: first column, first row, column step, row step of each pass
const ADAM7 = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]];

const CHANNELS = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as const;

export const writePng = (p: RawPng): Uint8Array => {
  const rowSamples = p.width * CHANNELS[p.colorType];
  const channels = CHANNELS[p.colorType];
  const rows: number[] = [];
  const push = (s: number) => rows.push(...(p.bitDepth === 16 ? [s >>> 8, s & 0xff] : [s]));
  if (p.interlaced) {
    for (const [x0, y0, dx, dy] of ADAM7) {
      if (x0! >= p.width) continue;
      for (let y = y0!; y < p.height; y += dy!) {
        rows.push(p.filter ?? 0);
        for (let x = x0!; x < p.width; x += dx!) for (let c = 0; c < channels; c++) push(p.samples[(y * p.width + x) * channels + c] ?? 0);
      }
    }
  } else {
    for (let y = 0; y < p.height; y++) {
      rows.push(p.filter ?? 0);
      for (const s of p.samples.slice(y * rowSamples, (y + 1) * rowSamples)) push(s);
    }
  }
  const ihdr = new Uint8Array([...u32(p.width), ...u32(p.height), p.bitDepth, p.colorType, 0, 0, p.interlaced ? 1 : 0]);
  return new Uint8Array([
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a,
    ...chunk('IHDR', ihdr),
    ...(p.palette ? chunk('PLTE', new Uint8Array(p.palette.flat())) : []),
    ...chunk('IDAT', new Uint8Array(deflateSync(new Uint8Array(rows)))),
    ...chunk('IEND', new Uint8Array(0)),
  ]);
};
