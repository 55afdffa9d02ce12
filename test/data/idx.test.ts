import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as _ from '../../src/data/idx.js';
import { arbIdx } from '../arb/idx.js';
import { left, right, withTmpDir } from './helpers.js';

const u8 = (...xs: number[]): Uint8Array => Uint8Array.from(xs);
const header = (dtype: number, dims: number[]): Uint8Array => {
  const b = new Uint8Array(4 + 4 * dims.length);
  const v = new DataView(b.buffer);
  b[2] = dtype;
  b[3] = dims.length;
  dims.forEach((d, i) => v.setUint32(4 + 4 * i, d, false));
  return b;
};
const concat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => [...p]));
/** Deterministic incompressible bytes from a fixed-seed LCG. */
const noise = (n: number): Uint8Array => {
  const out = new Uint8Array(n);
  for (let i = 0, x = 12345; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
};
const gz = (b: Uint8Array): Uint8Array => new Uint8Array(gzipSync(b));

describe('IDX codec', () => {
  it('write-then-read round trip of IDX files is the identity: decodeIdx(encodeIdx(x, o)) = right(x) for every uint8 x of 1 to 3 dims, raw or gzipped', async () => {
    const fixed = { dims: [2, 2, 3], data: u8(0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255) };
    for (const gzip of [false, true]) expect(right(await _.decodeIdx(_.encodeIdx(fixed, { gzip })))).toEqual(fixed);
    await fc.assert(
      fc.asyncProperty(arbIdx({ maxSide: 8 }), fc.boolean(), async (idx, gzip) => {
        expect(right(await _.decodeIdx(_.encodeIdx(idx, { gzip })))).toEqual(idx);
      }),
      { numRuns: 200 },
    );
  });

  it('readIdx reads what encodeIdx wrote to a file (the round trip through files)', async () => {
    await withTmpDir(async (dir) => {
      let n = 0;
      await fc.assert(
        fc.asyncProperty(arbIdx({ maxSide: 8 }), fc.boolean(), async (idx, gzip) => {
          const file = join(dir, `f${n++}${gzip ? '.gz' : ''}`);
          await writeFile(file, _.encodeIdx(idx, { gzip }));
          expect(right(await _.readIdx(file))).toEqual(idx);
        }),
        { numRuns: 100 },
      );
    });
  });

  it('writes the MNIST magic numbers and big-endian dims', () => {
    const labels = _.encodeIdx({ dims: [3], data: u8(7, 8, 9) });
    expect([...labels]).toEqual([0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9]);
    const images = _.encodeIdx({ dims: [1, 1, 258], data: new Uint8Array(258) });
    expect([...images.subarray(0, 16)]).toEqual([0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 2]);
  });

  it('detects gzip by its magic bytes, not by the file name', async () => {
    const idx = { dims: [4], data: u8(1, 2, 3, 4) };
    await withTmpDir(async (dir) => {
      await writeFile(join(dir, 'gz-without-suffix'), _.encodeIdx(idx, { gzip: true }));
      await writeFile(join(dir, 'raw-with-suffix.gz'), _.encodeIdx(idx));
      expect(right(await _.readIdx(join(dir, 'gz-without-suffix')))).toEqual(idx);
      expect(right(await _.readIdx(join(dir, 'raw-with-suffix.gz')))).toEqual(idx);
    });
  });

  it('rejects bad shapes when encoding (a programmer error)', () => {
    expect(() => _.encodeIdx({ dims: [2, 2], data: u8(1, 2, 3) })).toThrow(RangeError);
    expect(() => _.encodeIdx({ dims: [], data: u8() })).toThrow(RangeError);
    expect(() => _.encodeIdx({ dims: [1, 1, 1, 1], data: u8(1) })).toThrow(RangeError);
    expect(() => _.encodeIdx({ dims: [1.5], data: u8(1) })).toThrow(RangeError);
  });
});

describe('IDX defects are typed DataErrors', () => {
  const body = u8(1, 2, 3, 4, 5, 6);
  const cases: [string, Uint8Array, RegExp][] = [
    ['empty file', u8(), /empty/],
    ['not IDX (text)', new TextEncoder().encode('hello, world'), /not an IDX file/],
    ['int8 dtype', concat(header(0x09, [6]), body), /unsupported dtype 0x09 \(int8/],
    ['int16 dtype', concat(header(0x0b, [3]), body), /unsupported dtype 0x0b \(int16/],
    ['int32 dtype', concat(header(0x0c, [1]), u8(0, 0, 0, 1)), /unsupported dtype 0x0c \(int32/],
    ['float32 dtype', concat(header(0x0d, [1]), u8(0, 0, 0, 1)), /unsupported dtype 0x0d \(float32/],
    ['float64 dtype', concat(header(0x0e, [1]), new Uint8Array(8)), /unsupported dtype 0x0e \(float64/],
    ['unknown dtype', concat(header(0x42, [6]), body), /unknown IDX dtype 0x42/],
    ['0 dims', u8(0, 0, 8, 0), /0 dims/],
    ['4 dims', concat(header(8, [1, 1, 2, 3]), body), /4 dims/],
    ['ends in magic', u8(0, 0), /inside the 4-byte IDX magic/],
    ['ends in header', u8(0, 0, 8, 3, 0, 0, 0, 1, 0), /inside the 16-byte IDX header/],
    ['truncated body', concat(header(8, [2, 3]), body.subarray(0, 4)), /truncated/],
    ['extra bytes', concat(header(8, [2, 3]), body, u8(0)), /1 extra bytes/],
    ['huge claimed count', concat(header(8, [0xffffffff, 28, 28]), body), /header claims .*truncated/],
    ['gzip: truncated stream', gz(concat(header(8, [2, 3]), body)).subarray(0, 15), /truncated/],
    ['gzip: too short', u8(0x1f, 0x8b, 8, 0, 0), /truncated/],
    ['gzip: trailing garbage', concat(gz(concat(header(8, [2, 3]), body)), u8(1, 2, 3, 4, 5)), /corrupt gzip data|gzip trailer records/],
    ['gzip: huge claim, trailer agrees', (() => {
      // Incompressible data, so the header is decompressed and checked long before zlib reaches the trailer.
      const z = gz(concat(header(8, [0xf0000000]), noise(300_000)));
      new DataView(z.buffer).setUint32(z.length - 4, 8 + 0xf0000000, true);
      return z;
    })(), /more than a \d+-byte gzip file can hold/],
    ['gzip: body shorter than header claims', gz(concat(header(8, [2, 3]), body.subarray(0, 5))), /gzip trailer records/],
    ['gzip: bad CRC', (() => {
      const z = gz(concat(header(8, [2, 3]), body));
      z[z.length - 8]! ^= 0xff;
      return z;
    })(), /corrupt gzip data/],
    ['gzip: of a non-IDX file', gz(new TextEncoder().encode('hello')), /not an IDX file/],
  ];
  for (const [name, bytes, pattern] of cases) {
    it(`${name}: ${pattern.source}`, async () => {
      const err = left(await _.decodeIdx(bytes, 'case.idx'));
      expect(err._tag).toBe('DataError');
      expect(err.where).toBe('case.idx');
      expect(err.message).toMatch(pattern);
    });
  }

  it('two concatenated gzip members: the extra data is reported', async () => {
    const z = gz(concat(header(8, [2, 3]), body));
    // The second member decompresses to 6 more bytes; fix the trailer so only the extra data can catch it.
    const both = concat(z, gz(body));
    const err = left(await _.decodeIdx(both));
    expect(err.message).toMatch(/gzip trailer records|more data than/);
  });

  it('missing files, directories and unreadable files', async () => {
    await withTmpDir(async (dir) => {
      expect(left(await _.readIdx(join(dir, 'nope'))).message).toMatch(/not found/);
      await mkdir(join(dir, 'sub'));
      const d = left(await _.readIdx(join(dir, 'sub')));
      expect(d.message).toMatch(/directory/);
      expect(d.where).toBe(join(dir, 'sub'));
      await writeFile(join(dir, 'empty'), u8());
      expect(left(await _.readIdx(join(dir, 'empty'))).message).toMatch(/empty/);
      const locked = join(dir, 'locked');
      await writeFile(locked, _.encodeIdx({ dims: [1], data: u8(1) }));
      await chmod(locked, 0o000);
      // root reads anything; only check the error shape when the OS does refuse.
      const r = await _.readIdx(locked);
      if (r._tag === 'Left') expect(r.left.message).toMatch(/permission denied/);
      else expect(r.right.data).toEqual(u8(1));
    });
  });

  it('parseIdxHeader reads dims without needing the body', () => {
    const h = right(_.parseIdxHeader(header(8, [60000, 28, 28]), 'x'));
    expect(h).toEqual({ dtype: 8, dims: [60000, 28, 28], headerBytes: 16, bodyBytes: 47_040_000 });
  });
});
