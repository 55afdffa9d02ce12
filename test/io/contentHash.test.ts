import { fc, it as prop } from '@fast-check/vitest';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect } from 'vitest';
import { contentHash } from '../../src/io/contentHash.js';
import { decodeSafetensors, encodeSafetensors, type Dtype, type Tensor } from '../../src/io/safetensors.js';
import { metadata, tensor, tensorName, tensors } from './support/arb.js';

const reversed = <A>(r: Readonly<Record<string, A>>): Record<string, A> => Object.fromEntries(Object.entries(r).reverse());

const decoded = (bytes: Uint8Array): { tensors: Record<string, Tensor>; metadata: Record<string, string> } => {
  const r = decodeSafetensors(bytes, 'x.safetensors');
  if (E.isLeft(r)) throw new Error(r.left.message);
  return { tensors: { ...r.right.tensors }, metadata: { ...r.right.metadata } };
};

/** The same file with its header's keys in reverse order, indented, and padded with 8 more spaces than needed. */
const rewriteHeader = (bytes: Uint8Array): Uint8Array => {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = reversed(JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, unknown>);
  const text = new TextEncoder().encode(JSON.stringify(header, null, 2));
  const padded = Math.ceil(text.length / 8) * 8 + 8;
  const out = new Uint8Array(8 + padded + bytes.length - 8 - n).fill(0x20);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(text, 8);
  out.set(bytes.subarray(8 + n), 8 + padded);
  return out;
};

const OTHER_DTYPE: Record<Dtype, Dtype> = { F32: 'I32', I32: 'F32', F64: 'U8', U8: 'F64' };

const change = fc.oneof(
  fc.record({ kind: fc.constant('name' as const), to: tensorName }),
  fc.record({ kind: fc.constant('dtype' as const) }),
  fc.record({ kind: fc.constant('shape' as const) }),
  fc.record({ kind: fc.constant('byte' as const), at: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('metadata' as const), key: fc.string({ maxLength: 8 }), value: fc.string({ maxLength: 8 }) }),
);

describe('contentHash', () => {
  prop.prop([tensors, metadata], { numRuns: 200 })('contentHash is independent of tensor layout order, header key order and header padding', (ts, meta) => {
    const bytes = encodeSafetensors(ts, meta);
    const original = decoded(bytes);
    const relaid = decoded(encodeSafetensors(reversed(ts), reversed(meta)));
    const rewritten = decoded(rewriteHeader(bytes));
    const h = contentHash(original.tensors, original.metadata);
    expect(contentHash(relaid.tensors, relaid.metadata)).toBe(h);
    expect(contentHash(rewritten.tensors, rewritten.metadata)).toBe(h);
    expect(contentHash(reversed(ts), reversed(meta))).toBe(h);
  });

  prop.prop([fc.dictionary(tensorName, tensor, { minKeys: 1, maxKeys: 4 }), metadata, fc.nat(), change], { numRuns: 300 })(
    'changing any name, dtype, shape, data byte or metadata value (other than sha256) changes it',
    (ts, meta, pick, c) => {
      const names = Object.keys(ts);
      const name = names[pick % names.length]!;
      const t = ts[name]!;
      const rest = Object.fromEntries(Object.entries(ts).filter(([k]) => k !== name));
      let changed: { tensors: Record<string, Tensor>; metadata: Record<string, string> };
      switch (c.kind) {
        case 'name':
          fc.pre(c.to !== '__metadata__' && !(c.to in ts));
          changed = { tensors: { ...rest, [c.to]: t }, metadata: meta };
          break;
        case 'dtype':
          changed = { tensors: { ...ts, [name]: { ...t, dtype: OTHER_DTYPE[t.dtype] } as Tensor }, metadata: meta };
          break;
        case 'shape':
          changed = { tensors: { ...ts, [name]: { ...t, shape: [...t.shape, 1] } }, metadata: meta };
          break;
        case 'byte': {
          fc.pre(t.data.byteLength > 0);
          const raw = new Uint8Array(t.data.byteLength);
          raw.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
          raw[c.at % raw.length]! ^= c.mask;
          const data = { F32: Float32Array, F64: Float64Array, U8: Uint8Array, I32: Int32Array }[t.dtype];
          changed = { tensors: { ...ts, [name]: { ...t, data: new data(raw.buffer) } as Tensor }, metadata: meta };
          break;
        }
        case 'metadata':
          fc.pre(c.key !== 'sha256' && meta[c.key] !== c.value);
          changed = { tensors: ts, metadata: { ...meta, [c.key]: c.value } };
          break;
      }
      expect(contentHash(changed.tensors, changed.metadata)).not.toBe(contentHash(ts, meta));
      // the stored hash itself is not part of the content
      expect(contentHash(ts, { ...meta, sha256: 'anything' })).toBe(contentHash(ts, meta));
    },
  );
});
