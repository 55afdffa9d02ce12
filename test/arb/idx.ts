/**
 * fast-check arbitraries for IDX files and MNIST-layout datasets, and mutations that damage them
 * (for fuzzing readers). Shapes stay small so hundreds of cases run in well under a second.
 */
import fc from 'fast-check';
import { gzipSync } from 'node:zlib';
import type { Idx } from '../../src/data/idx.js';
import { encodeIdx } from '../../src/data/idx.js';

export interface DimsOptions {
  readonly minDims?: number;
  readonly maxDims?: number;
  /** Largest size of any dim (default 6). */
  readonly maxSide?: number;
  /** Allow dims of size 0 (default true). */
  readonly allowEmpty?: boolean;
}

/** Dims of an uint8 IDX array: 1 to 3 small sizes. */
export const arbDims = (o: DimsOptions = {}): fc.Arbitrary<number[]> =>
  fc.array(fc.integer({ min: o.allowEmpty === false ? 1 : 0, max: o.maxSide ?? 6 }), { minLength: o.minDims ?? 1, maxLength: o.maxDims ?? 3 });

/** An uint8 array of 1 to 3 dims with arbitrary contents. */
export const arbIdx = (o: DimsOptions = {}): fc.Arbitrary<Idx> =>
  arbDims(o).chain((dims) =>
    fc.uint8Array({ minLength: dims.reduce((a, b) => a * b, 1), maxLength: dims.reduce((a, b) => a * b, 1) }).map((data) => ({ dims, data })),
  );

/** An IDX array with its encoding, raw or gzipped. */
export const arbIdxFile = (o: DimsOptions = {}): fc.Arbitrary<{ idx: Idx; gzip: boolean; bytes: Uint8Array }> =>
  fc.tuple(arbIdx(o), fc.boolean()).map(([idx, gzip]) => ({ idx, gzip, bytes: encodeIdx(idx, { gzip }) }));

export interface MnistPair {
  readonly count: number;
  readonly rows: number;
  readonly cols: number;
  readonly images: Uint8Array;
  readonly labels: Uint8Array;
}

/** A small images/labels pair in the MNIST layout, labels in 0..maxLabel. */
export const arbMnistPair = (o: { maxCount?: number; maxSide?: number; maxLabel?: number } = {}): fc.Arbitrary<MnistPair> =>
  fc
    .record({
      count: fc.integer({ min: 1, max: o.maxCount ?? 12 }),
      rows: fc.integer({ min: 1, max: o.maxSide ?? 5 }),
      cols: fc.integer({ min: 1, max: o.maxSide ?? 5 }),
    })
    .chain(({ count, rows, cols }) =>
      fc
        .tuple(
          fc.uint8Array({ minLength: count * rows * cols, maxLength: count * rows * cols }),
          fc.uint8Array({ minLength: count, maxLength: count, max: o.maxLabel ?? 9 }),
        )
        .map(([images, labels]) => ({ count, rows, cols, images, labels })),
    );

/** A damage done to a file's bytes; positions are taken modulo the length. */
export type Mutation =
  | { readonly kind: 'flip'; readonly at: number; readonly xor: number }
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'append'; readonly bytes: Uint8Array }
  | { readonly kind: 'set32'; readonly at: number; readonly value: number }
  | { readonly kind: 'dtype'; readonly value: number }
  | { readonly kind: 'ndims'; readonly value: number }
  | { readonly kind: 'dim'; readonly index: number; readonly value: number };

const HUGE = [0xffffffff, 0x80000000, 0x7fffffff, 0x10000000, 1_000_000, 60_000, 65_536];

/** Header edits (dtype, dim count, dims including huge claims); meant for the uncompressed bytes. */
export const arbHeaderMutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('dtype' as const), value: fc.constantFrom(0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e, 0x00, 0xff) }),
  fc.record({ kind: fc.constant('ndims' as const), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('dim' as const), index: fc.nat(2), value: fc.oneof(fc.constantFrom(...HUGE), fc.nat(20), fc.nat()) }),
);

/** Byte-level damage: flips, truncation, appended garbage, overwritten 32-bit words (e.g. gzip ISIZE). */
export const arbByteMutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('append' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('set32' as const), at: fc.nat(), value: fc.oneof(fc.constantFrom(...HUGE), fc.nat()) }),
);

/** Applies `m` to a copy of `bytes`. */
export const mutate = (bytes: Uint8Array, m: Mutation): Uint8Array => {
  const out = Uint8Array.from(bytes);
  const n = out.length;
  switch (m.kind) {
    case 'flip':
      if (n > 0) out[m.at % n]! ^= m.xor;
      return out;
    case 'truncate':
      return out.subarray(0, n === 0 ? 0 : m.at % n);
    case 'append': {
      const longer = new Uint8Array(n + m.bytes.length);
      longer.set(out);
      longer.set(m.bytes, n);
      return longer;
    }
    case 'set32':
      if (n >= 4) new DataView(out.buffer).setUint32(m.at % (n - 3), m.value >>> 0, m.at % 2 === 0);
      return out;
    case 'dtype':
      if (n > 2) out[2] = m.value;
      return out;
    case 'ndims':
      if (n > 3) out[3] = m.value;
      return out;
    case 'dim':
      if (n >= 8 + 4 * m.index) new DataView(out.buffer).setUint32(4 + 4 * m.index, m.value >>> 0, false);
      return out;
  }
};

/** Sets a gzip file's trailer ISIZE (its last 4 bytes, little-endian) to `size` mod 2^32. */
export const setIsize = (bytes: Uint8Array, size: number): Uint8Array => {
  const out = Uint8Array.from(bytes);
  if (out.length >= 4) new DataView(out.buffer).setUint32(out.length - 4, size % 2 ** 32, true);
  return out;
};

/**
 * A damaged IDX file: a valid small file whose uncompressed bytes get header edits, then (optionally)
 * gzip, then byte damage; `fixIsize` makes the gzip trailer agree with the (possibly huge) header claim,
 * so the deflate-ratio bound rather than the trailer has to catch it.
 */
export const arbDamagedIdx = (o: DimsOptions = {}): fc.Arbitrary<{ bytes: Uint8Array; gzip: boolean; description: string }> =>
  fc
    .record({
      idx: arbIdx(o),
      gzip: fc.boolean(),
      pre: fc.array(arbHeaderMutation, { maxLength: 2 }),
      post: fc.array(arbByteMutation, { maxLength: 3 }),
      fixIsize: fc.boolean(),
    })
    .map(({ idx, gzip, pre, post, fixIsize }) => {
      const raw = pre.reduce(mutate, encodeIdx(idx));
      let bytes = gzip ? new Uint8Array(gzipSync(raw)) : raw;
      if (gzip && fixIsize) bytes = setIsize(bytes, claimedTotal(raw) ?? raw.length);
      bytes = post.reduce(mutate, bytes);
      return { bytes, gzip, description: JSON.stringify({ dims: idx.dims, gzip, pre, post: post.map((m) => ({ ...m, bytes: undefined })), fixIsize }) };
    });

/** The total size (header + data) a raw IDX header claims, if the header is complete. */
export const claimedTotal = (raw: Uint8Array): number | undefined => {
  if (raw.length < 4) return undefined;
  const n = raw[3]!;
  if (raw.length < 4 + 4 * n) return undefined;
  const view = new DataView(raw.buffer, raw.byteOffset);
  let total = 1;
  for (let i = 0; i < n; i++) total *= view.getUint32(4 + 4 * i, false);
  return 4 + 4 * n + total;
};
