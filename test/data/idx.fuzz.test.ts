/**
 * Fuzzing the IDX reader with damaged small files (byte flips, truncation, appended garbage, header
 * edits including huge claimed counts, gzip damage). Whatever the bytes, the reader must return a typed
 * DataError or the array a simple independent reference decoder finds, never throw, never hang, and
 * never produce (allocate) more than the file can plausibly hold. 1,530 cases in all.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as _ from '../../src/data/idx.js';
import { GradpipeException, type GradpipeError } from '../../src/errors.js';
import { streamExamples } from '../../src/data/streamExamples.js';
import { gunzipSync, gzipSync } from 'node:zlib';
import { arbByteMutation, arbDamagedIdx, arbMnistPair, claimedTotal, mutate, setIsize } from '../arb/idx.js';
import { withTmpDir } from './helpers.js';

/** A hang detector, not a performance assertion: a case taking this long is stuck. */
const HANG_MS = 5_000;

const bounded = async <T>(p: Promise<T>, what: string): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_r, reject) => {
    timer = setTimeout(() => reject(new Error(`hung: ${what}`)), HANG_MS);
  });
  try {
    return await Promise.race([p, hang]);
  } finally {
    clearTimeout(timer);
  }
};

const isGzip = (b: Uint8Array): boolean => b[0] === 0x1f && b[1] === 0x8b;

/** The most a file of these bytes can hold: its size if raw, 1032 times it if gzipped (deflate's limit). */
const plausible = (b: Uint8Array): number => (isGzip(b) ? 1032 * b.length : b.length);

/** A reference decoder written directly from the format description, for raw IDX bytes. */
const referenceRaw = (raw: Uint8Array): _.Idx | undefined => {
  if (raw.length < 4 || raw[0] !== 0 || raw[1] !== 0 || raw[2] !== 8) return undefined;
  const n = raw[3]!;
  if (n < 1 || n > 3 || raw.length < 4 + 4 * n) return undefined;
  const dims: number[] = [];
  for (let i = 0; i < n; i++) dims.push(((raw[4 + 4 * i]! << 24) | (raw[5 + 4 * i]! << 16) | (raw[6 + 4 * i]! << 8) | raw[7 + 4 * i]!) >>> 0);
  const size = dims.reduce((a, b) => a * b, 1);
  return raw.length === 4 + 4 * n + size ? { dims, data: raw.slice(4 + 4 * n) } : undefined;
};

const reference = (bytes: Uint8Array): _.Idx | undefined => {
  if (!isGzip(bytes)) return referenceRaw(bytes);
  try {
    return referenceRaw(new Uint8Array(gunzipSync(bytes)));
  } catch {
    return undefined;
  }
};

const wellFormed = (e: GradpipeError, where: string): void => {
  expect(e._tag).toBe('DataError');
  expect(e.where).toBe(where);
  expect(e.message.length).toBeGreaterThan(0);
  expect(e.hint.length).toBeGreaterThan(0);
};

/** The fuzz oracle for one decoded result of `bytes`. */
const check = (bytes: Uint8Array, result: E.Either<GradpipeError, _.Idx>, where: string): void => {
  const ref = reference(bytes);
  if (E.isLeft(result)) {
    wellFormed(result.left, where);
    // Raw files have one reading: whatever the reference accepts, the reader must accept too.
    if (!isGzip(bytes)) expect(ref).toBeUndefined();
    return;
  }
  const { dims, data } = result.right;
  expect(data.length).toBe(dims.reduce((a, b) => a * b, 1));
  expect(data.length).toBeLessThanOrEqual(plausible(bytes));
  expect(ref).toEqual(result.right);
};

/** Claims more than the file can hold: must be refused by the header check, before any allocation. */
const hugeClaim = (bytes: Uint8Array): boolean => {
  if (isGzip(bytes)) {
    try {
      const total = claimedTotal(new Uint8Array(gunzipSync(bytes)));
      return total !== undefined && total > plausible(bytes);
    } catch {
      return false; // the claim cannot be known without a good stream
    }
  }
  const total = claimedTotal(bytes);
  return total !== undefined && bytes.length >= 4 && bytes[0] === 0 && bytes[1] === 0 && bytes[2] === 8 && bytes[3]! >= 1 && bytes[3]! <= 3 && total > bytes.length;
};

describe('IDX reader fuzz', () => {
  it('decodeIdx: 1,000 damaged small files give a typed error or the reference array, never a throw or hang', async () => {
    let huge = 0;
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(arbDamagedIdx({ maxSide: 5 }), async ({ bytes, description }) => {
        const result = await bounded(_.decodeIdx(bytes, 'fuzz.idx'), description);
        check(bytes, result, 'fuzz.idx');
        if (E.isRight(result)) accepted++;
        if (hugeClaim(bytes)) {
          huge++;
          expect(E.isLeft(result)).toBe(true);
        }
      }),
      { numRuns: 1000 },
    );
    // The generator must exercise both outcomes and the huge-claim path, or the fuzz proves little.
    expect(accepted).toBeGreaterThan(20);
    expect(huge).toBeGreaterThan(20);
  });

  it('huge claims that the gzip trailer agrees with are refused by the deflate-ratio bound, before the body is read', async () => {
    // Incompressible 200 KB bodies: the header is checked long before zlib reaches the (forged) trailer,
    // so only the ratio bound can refuse these; small files fail on zlib's own length check first.
    const body = new Uint8Array(200_000);
    for (let i = 0, x = 7; i < body.length; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      body[i] = x >>> 24;
    }
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 0xffffffff }), { minLength: 1, maxLength: 3 }), async (dims) => {
        const raw = new Uint8Array(4 + 4 * dims.length + body.length);
        raw[2] = 8;
        raw[3] = dims.length;
        dims.forEach((d, i) => new DataView(raw.buffer).setUint32(4 + 4 * i, d, false));
        raw.set(body, 4 + 4 * dims.length);
        const total = claimedTotal(raw)!;
        const z = setIsize(new Uint8Array(gzipSync(raw, { level: 1 })), total);
        fc.pre(total > plausible(z));
        const result = await bounded(_.decodeIdx(z, 'huge.idx.gz'), JSON.stringify(dims));
        if (E.isRight(result)) expect.fail(`accepted a claim of ${total} bytes`);
        expect(result.left.message).toMatch(/more than a \d+-byte gzip file can hold/);
      }),
      { numRuns: 30 },
    );
  });

  it('readIdx: 300 damaged small files on disk behave like decodeIdx', async () => {
    await withTmpDir(async (dir) => {
      let n = 0;
      await fc.assert(
        fc.asyncProperty(arbDamagedIdx({ maxSide: 5 }), async ({ bytes, description }) => {
          const file = join(dir, `case${n++}.idx`);
          await writeFile(file, bytes);
          const result = await bounded(_.readIdx(file), description);
          check(bytes, result, file);
          expect(await _.decodeIdx(bytes, file)).toEqual(result);
        }),
        { numRuns: 300 },
      );
    });
  });

  it('streamExamples: 200 damaged pairs yield the reference examples or throw only GradpipeException', async () => {
    await withTmpDir(async (dir) => {
      let n = 0;
      await fc.assert(
        fc.asyncProperty(
          arbMnistPair({ maxCount: 8, maxSide: 4 }),
          fc.boolean(),
          fc.array(arbByteMutation, { maxLength: 2 }),
          fc.boolean(),
          async (pair, gzip, damage, damageImages) => {
            const imagesBytes = _.encodeIdx({ dims: [pair.count, pair.rows, pair.cols], data: pair.images }, { gzip });
            const labelsBytes = _.encodeIdx({ dims: [pair.count], data: pair.labels }, { gzip });
            const [img, lbl] = damageImages ? [damage.reduce(mutate, imagesBytes), labelsBytes] : [imagesBytes, damage.reduce(mutate, labelsBytes)];
            const [fi, fl] = [join(dir, `i${n}`), join(dir, `l${n++}`)];
            await Promise.all([writeFile(fi, img), writeFile(fl, lbl)]);
            const seen: { image: Uint8Array; label: number; index: number }[] = [];
            const run = async (): Promise<unknown> => {
              try {
                for await (const ex of streamExamples(fi, fl)) seen.push(ex);
                return undefined;
              } catch (e) {
                return e;
              }
            };
            const thrown = await bounded(run(), JSON.stringify({ gzip, damage, damageImages }));
            const [refImages, refLabels] = [reference(img), reference(lbl)];
            if (thrown !== undefined) {
              expect(thrown).toBeInstanceOf(GradpipeException);
              wellFormed((thrown as GradpipeException).error, damageImages ? fi : fl);
              expect(seen.length).toBeLessThanOrEqual(pair.count);
              return;
            }
            // Accepted: both files must be valid by the reference, and the examples exactly theirs.
            expect(refImages).toBeDefined();
            expect(refLabels).toBeDefined();
            const [count, rows, cols] = refImages!.dims as [number, number, number];
            expect(seen.length).toBe(count);
            seen.forEach((ex, i) => {
              expect(ex.index).toBe(i);
              expect(ex.label).toBe(refLabels!.data[i]);
              expect(ex.image).toEqual(refImages!.data.slice(i * rows * cols, (i + 1) * rows * cols));
            });
          },
        ),
        { numRuns: 200 },
      );
    });
  });
});
