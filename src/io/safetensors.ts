/**
 * The safetensors format (https://github.com/huggingface/safetensors), for the dtypes gradpipe uses:
 *
 *   [8 bytes: N, little-endian u64][N bytes: JSON header, padded with spaces to a multiple of 8][data]
 *
 * The header maps each tensor name to `{ dtype, shape, data_offsets: [begin, end] }` (offsets relative to
 * the data section) and may hold `__metadata__`, a string-to-string map. Tensors are laid out back to back
 * in the order of their offsets and cover the data section exactly. Numbers are little-endian.
 * Its laws are stated on `decodeSafetensors` below.
 */
import * as E from 'fp-ts/lib/Either.js';
import { modelError, type GradpipeError } from '../errors.js';

export interface DataOf {
  F32: Float32Array;
  F64: Float64Array;
  U8: Uint8Array;
  I32: Int32Array;
}
export type Dtype = keyof DataOf;
export type TensorData = DataOf[Dtype];

/** A tensor whose `data` type matches its `dtype`, row-major, `data.length` = product of `shape`. */
export type Tensor = { [D in Dtype]: { readonly dtype: D; readonly shape: readonly number[]; readonly data: DataOf[D] } }[Dtype];

export interface Safetensors {
  /** In layout order (the order of their data offsets). */
  readonly tensors: Readonly<Record<string, Tensor>>;
  readonly metadata: Readonly<Record<string, string>>;
}

const BYTES: Record<Dtype, number> = { F32: 4, F64: 8, U8: 1, I32: 4 };
const DTYPES = Object.keys(BYTES) as Dtype[];
const isDtype = (s: unknown): s is Dtype => typeof s === 'string' && (DTYPES as string[]).includes(s);

const hostIsLittleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
if (!hostIsLittleEndian) throw new Error('safetensors: big-endian hosts are not supported');

const elementCount = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** The raw little-endian bytes of a tensor's data (a view, no copy). */
export const tensorBytes = (t: Tensor): Uint8Array => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);

const checkTensor = (name: string, t: Tensor): void => {
  if (name === '__metadata__') throw new RangeError('encodeSafetensors: "__metadata__" cannot name a tensor');
  if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new RangeError(`encodeSafetensors: tensor ${name} has an invalid shape [${t.shape.join(', ')}]`);
  }
  const expected: Record<Dtype, unknown> = { F32: Float32Array, F64: Float64Array, U8: Uint8Array, I32: Int32Array };
  if (!(t.data instanceof (expected[t.dtype] as typeof Uint8Array))) {
    throw new RangeError(`encodeSafetensors: tensor ${name} is ${t.dtype} but its data is a ${t.data.constructor.name}`);
  }
  if (t.data.length !== elementCount(t.shape)) {
    throw new RangeError(`encodeSafetensors: tensor ${name} of shape [${t.shape.join(', ')}] has ${t.data.length} values`);
  }
};

/**
 * The safetensors bytes of `tensors` (laid out in the record's key order) and `metadata`.
 * Throws a `RangeError` (a programmer error) when a tensor's data does not match its dtype and shape.
 */
export const encodeSafetensors = (
  tensors: Readonly<Record<string, Tensor>>,
  metadata: Readonly<Record<string, string>> = {},
): Uint8Array => {
  // entries, not assignments: a tensor may be called "__proto__"
  const entries: [string, unknown][] = Object.keys(metadata).length > 0 ? [['__metadata__', metadata]] : [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    checkTensor(name, t);
    const end = offset + t.data.byteLength;
    entries.push([name, { dtype: t.dtype, shape: t.shape, data_offsets: [offset, end] }]);
    offset = end;
  }
  const json = new TextEncoder().encode(JSON.stringify(Object.fromEntries(entries)));
  const headerLength = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.fill(0x20, 8, 8 + headerLength);
  out.set(json, 8);
  let at = 8 + headerLength;
  for (const t of Object.values(tensors)) {
    out.set(tensorBytes(t), at);
    at += t.data.byteLength;
  }
  return out;
};

const copyAs = (dtype: Dtype, bytes: Uint8Array): TensorData => {
  // copying also aligns (a tensor may start at any byte offset in the file); `new Uint8Array(view)` copies
  // where a Node Buffer's `slice` would not
  const buffer = new Uint8Array(bytes).buffer;
  switch (dtype) {
    case 'F32':
      return new Float32Array(buffer);
    case 'F64':
      return new Float64Array(buffer);
    case 'U8':
      return new Uint8Array(buffer);
    case 'I32':
      return new Int32Array(buffer);
  }
};

interface Entry {
  readonly name: string;
  readonly dtype: Dtype;
  readonly shape: number[];
  readonly begin: number;
  readonly end: number;
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null && !Array.isArray(u);
const isIndex = (u: unknown): u is number => typeof u === 'number' && Number.isSafeInteger(u) && u >= 0;

/** Parses one header entry, or says what is wrong with it. */
const parseEntry = (name: string, v: unknown, dataLength: number): E.Either<string, Entry> => {
  if (!isRecord(v)) return E.left(`the header entry for tensor "${name}" is not an object`);
  const { dtype, shape, data_offsets: offsets } = v;
  if (!isDtype(dtype)) {
    return E.left(`tensor "${name}" has dtype ${JSON.stringify(dtype)}, which gradpipe does not read (it reads ${DTYPES.join(', ')})`);
  }
  if (!Array.isArray(shape) || !shape.every(isIndex)) return E.left(`tensor "${name}" has an invalid shape ${JSON.stringify(shape)}`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isIndex)) {
    return E.left(`tensor "${name}" has invalid data_offsets ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end || end > dataLength) {
    return E.left(`tensor "${name}" has data_offsets [${begin}, ${end}] outside the ${dataLength}-byte data section`);
  }
  const expected = elementCount(shape) * BYTES[dtype];
  if (end - begin !== expected) {
    return E.left(`tensor "${name}" (${dtype}, shape [${shape.join(', ')}]) needs ${expected} bytes but its offsets span ${end - begin}`);
  }
  return E.right({ name, dtype, shape, begin, end });
};

const parseMetadata = (v: unknown): E.Either<string, Record<string, string>> => {
  if (v === undefined) return E.right({});
  if (!isRecord(v) || !Object.values(v).every((x) => typeof x === 'string')) {
    return E.left('__metadata__ is not a map from strings to strings');
  }
  return E.right({ ...(v as Record<string, string>) });
};

/** Checks that the tensors, sorted by offset, tile the data section with no gap and no overlap. */
const checkLayout = (entries: Entry[], dataLength: number): E.Either<string, Entry[]> => {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const e of sorted) {
    if (e.begin !== at) {
      return E.left(
        e.begin < at
          ? `tensor "${e.name}" overlaps the tensor before it (it starts at byte ${e.begin}, before ${at})`
          : `there is a gap in the data section before tensor "${e.name}" (bytes ${at} to ${e.begin})`,
      );
    }
    at = e.end;
  }
  if (at !== dataLength) return E.left(`the data section has ${dataLength} bytes but the tensors cover only ${at}`);
  return E.right(sorted);
};

const HINT = 'the file is truncated, corrupted or not a safetensors file; restore it or write it again';

/**
 * Parses and validates safetensors `bytes` read from `file`: header length within the file, valid UTF-8
 * JSON, known dtypes, sizes matching dtype and shape, offsets within the data section, contiguous and
 * non-overlapping. Any defect is a `ModelError` naming `file`. Tensor data is copied out of `bytes`.
 *
 * Laws:
 * - decodeSafetensors(encodeSafetensors(t, m)) = { tensors: t, metadata: m } (bit for bit)
 * - encodeSafetensors(decodeSafetensors(b)) = b for every b this module wrote
 */
export const decodeSafetensors = (bytes: Uint8Array, file: string): E.Either<GradpipeError, Safetensors> => {
  const fail = (message: string) => E.left(modelError(file, message, HINT));
  if (bytes.length < 8) return fail(`has ${bytes.length} bytes, fewer than the 8-byte header length of a safetensors file`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declared = view.getBigUint64(0, true);
  if (declared > BigInt(bytes.length - 8)) {
    return fail(`declares a ${declared}-byte header but only ${bytes.length - 8} bytes follow the header length`);
  }
  const headerLength = Number(declared);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)));
  } catch {
    return fail('has a header that is not valid UTF-8 JSON');
  }
  if (!isRecord(header)) return fail('has a header that is not a JSON object');
  const data = bytes.subarray(8 + headerLength);
  const metadata = parseMetadata(header.__metadata__);
  if (E.isLeft(metadata)) return fail(metadata.left);
  const entries: Entry[] = [];
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const entry = parseEntry(name, v, data.length);
    if (E.isLeft(entry)) return fail(entry.left);
    entries.push(entry.right);
  }
  const layout = checkLayout(entries, data.length);
  if (E.isLeft(layout)) return fail(layout.left);
  const tensors = Object.fromEntries(
    layout.right.map((e) => [e.name, { dtype: e.dtype, shape: e.shape, data: copyAs(e.dtype, data.subarray(e.begin, e.end)) } as Tensor]),
  );
  return E.right({ tensors, metadata: metadata.right });
};
