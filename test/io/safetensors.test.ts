import { fc, it as prop } from '@fast-check/vitest';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import * as _ from '../../src/io/safetensors.js';
import { comparable, metadata, tensors } from './support/arb.js';

const FILE = 'dir/weights.safetensors';
const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));
const u64 = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24, 0, 0, 0, 0];

/** A safetensors file assembled by hand from a header string and raw data bytes. */
const file = (header: string, data: number[] = []): Uint8Array => {
  const padded = header.padEnd(Math.ceil(header.length / 8) * 8, ' ');
  return new Uint8Array([...u64(padded.length), ...ascii(padded), ...data]);
};

const leftMessage = (r: E.Either<{ message: string; where: string; _tag: string }, unknown>): string => {
  if (E.isRight(r)) throw new Error('expected a Left');
  expect(r.left._tag).toBe('ModelError');
  expect(r.left.where).toBe(FILE);
  return r.left.message;
};

describe('encodeSafetensors', () => {
  it('writes the bytes the format specifies (hand-computed oracle)', () => {
    // header: 79 characters of JSON, padded with one space to 80 = 0x50; 1.0f = 0x3f800000, -2.5f = 0xc0200000
    const header = '{"__metadata__":{"k":"v"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
    const expected = [0x50, 0, 0, 0, 0, 0, 0, 0, ...ascii(header), 0x20, 0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x20, 0xc0];
    const bytes = _.encodeSafetensors({ w: { dtype: 'F32', shape: [2], data: new Float32Array([1, -2.5]) } }, { k: 'v' });
    expect([...bytes]).toEqual(expected);
  });

  it('pads the header with spaces to a multiple of 8 and leaves out empty metadata', () => {
    const bytes = _.encodeSafetensors({ x: { dtype: 'U8', shape: [3], data: new Uint8Array([7, 8, 9]) } });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    expect(text.trimEnd()).toBe('{"x":{"dtype":"U8","shape":[3],"data_offsets":[0,3]}}');
    expect(text.slice(text.trimEnd().length)).toMatch(/^ *$/);
    expect([...bytes.subarray(8 + n)]).toEqual([7, 8, 9]);
  });

  it('throws on a programmer error: data not matching the shape', () => {
    expect(() => _.encodeSafetensors({ x: { dtype: 'F32', shape: [3], data: new Float32Array(2) } })).toThrow(RangeError);
    expect(() => _.encodeSafetensors({ x: { dtype: 'F64', shape: [2], data: new Float32Array(2) } as unknown as _.Tensor })).toThrow(
      /is F64 but its data is a Float32Array/,
    );
  });
});

describe('decodeSafetensors', () => {
  it('reads a hand-written file whose header order differs from its layout order', () => {
    // b is listed first but stored second; the I32 value -2 is 0xfffffffe
    const header = '{"b":{"dtype":"I32","shape":[1],"data_offsets":[2,6]},"a":{"dtype":"U8","shape":[2,1],"data_offsets":[0,2]}}';
    const r = _.decodeSafetensors(file(header, [5, 6, 0xfe, 0xff, 0xff, 0xff]), FILE);
    expect(E.isRight(r)).toBe(true);
    if (E.isRight(r)) {
      expect(Object.keys(r.right.tensors)).toEqual(['a', 'b']);
      expect(r.right.tensors.a).toEqual({ dtype: 'U8', shape: [2, 1], data: new Uint8Array([5, 6]) });
      expect(r.right.tensors.b).toEqual({ dtype: 'I32', shape: [1], data: new Int32Array([-2]) });
      expect(r.right.metadata).toEqual({});
    }
  });

  it('reads from a Node Buffer that is a view into a larger pool, at an odd offset', () => {
    const bytes = _.encodeSafetensors({ x: { dtype: 'F64', shape: [2], data: new Float64Array([1.5, -3]) } });
    const pool = Buffer.alloc(bytes.length + 11, 0xaa);
    pool.set(bytes, 3);
    const r = _.decodeSafetensors(pool.subarray(3, 3 + bytes.length), FILE);
    expect(r).toEqual(E.right({ tensors: { x: { dtype: 'F64', shape: [2], data: new Float64Array([1.5, -3]) } }, metadata: {} }));
  });

  const t = (name: string, dtype: string, shape: number[], begin: number, end: number) =>
    `"${name}":{"dtype":"${dtype}","shape":${JSON.stringify(shape)},"data_offsets":[${begin},${end}]}`;

  it.each([
    ['a file shorter than 8 bytes', new Uint8Array([1, 2, 3]), /fewer than the 8-byte/],
    ['a header length past the end', new Uint8Array([...u64(64), ...ascii('{}      ')]), /declares a 64-byte header but only 8/],
    ['a header that is not JSON', file('{"a":'), /not valid UTF-8 JSON/],
    ['a header that is not UTF-8', new Uint8Array([...u64(8), 0x7b, 0xff, 0x7d, 32, 32, 32, 32, 32]), /not valid UTF-8 JSON/],
    ['a header that is an array', file('[]'), /not a JSON object/],
    ['an unknown dtype', file(`{${t('a', 'BF16', [1], 0, 2)}}`, [0, 0]), /dtype "BF16", which gradpipe does not read/],
    ['a negative dimension', file(`{${t('a', 'U8', [-1], 0, 0)}}`), /invalid shape \[-1\]/],
    ['offsets past the data', file(`{${t('a', 'U8', [4], 0, 4)}}`, [1, 2]), /outside the 2-byte data section/],
    ['a size not matching dtype and shape', file(`{${t('a', 'F32', [2], 0, 4)}}`, [0, 0, 0, 0]), /needs 8 bytes but its offsets span 4/],
    ['overlapping tensors', file(`{${t('a', 'U8', [2], 0, 2)},${t('b', 'U8', [2], 1, 3)}}`, [1, 2, 3]), /"b" overlaps/],
    ['a gap between tensors', file(`{${t('a', 'U8', [1], 0, 1)},${t('b', 'U8', [1], 2, 3)}}`, [1, 2, 3]), /gap .* before tensor "b"/],
    ['trailing data no tensor covers', file(`{${t('a', 'U8', [1], 0, 1)}}`, [1, 2]), /2 bytes but the tensors cover only 1/],
    ['metadata that is not string to string', file(`{"__metadata__":{"n":1}}`), /__metadata__ is not a map/],
  ])('refuses %s with a ModelError naming the file', (_label, bytes, message) => {
    const r = _.decodeSafetensors(bytes, FILE);
    expect(leftMessage(r)).toMatch(message);
    if (E.isLeft(r)) expect(r.left.hint).toMatch(/restore it or write it again/);
  });

  prop.prop([tensors, metadata], { numRuns: 200 })('decodeSafetensors(encodeSafetensors(t, m)) = { tensors: t, metadata: m } (bit for bit)', (ts, meta) => {
    const r = _.decodeSafetensors(_.encodeSafetensors(ts, meta), FILE);
    expect(E.isRight(r)).toBe(true);
    if (E.isRight(r)) {
      expect(comparable(r.right.tensors)).toEqual(comparable(ts));
      expect(r.right.metadata).toEqual({ ...meta });
    }
  });

  prop.prop([tensors, metadata], { numRuns: 100 })('encodeSafetensors(decodeSafetensors(b)) = b for every b this module wrote', (ts, meta) => {
    const bytes = _.encodeSafetensors(ts, meta);
    const r = _.decodeSafetensors(bytes, FILE);
    if (E.isLeft(r)) throw new Error(r.left.message);
    expect(_.encodeSafetensors(r.right.tensors, r.right.metadata)).toEqual(bytes);
  });

  prop.prop([tensors, metadata, fc.double({ min: 0, max: 1, maxExcluded: true })], { numRuns: 200 })(
    'refuses every strict prefix of a file',
    (ts, meta, cut) => {
      const bytes = _.encodeSafetensors(ts, meta);
      const r = _.decodeSafetensors(bytes.subarray(0, Math.floor(cut * bytes.length)), FILE);
      leftMessage(r);
    },
  );

  prop.prop([tensors, fc.nat(), fc.integer({ min: 1, max: 255 })], { numRuns: 300 })(
    'never throws on a file with one byte changed',
    (ts, at, mask) => {
      const bytes = _.encodeSafetensors(ts, { note: 'x' });
      bytes[at % bytes.length]! ^= mask;
      let r: ReturnType<typeof _.decodeSafetensors> | undefined;
      expect(() => (r = _.decodeSafetensors(bytes, FILE))).not.toThrow();
      // either a ModelError naming the file, or tensors whose data matches their dtype and shape
      if (E.isLeft(r!)) leftMessage(r!);
      else for (const t of Object.values(r!.right.tensors)) expect(t.data.length).toBe(t.shape.reduce((a, b) => a * b, 1));
    },
  );
});
