import { fc, it as prop } from '@fast-check/vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import * as _ from '../../src/io/image.js';
import { writePng } from './support/png.js';
import { useTmpDirs } from './support/tmpdir.js';

const tmp = useTmpDirs();
const FILE = 'digits/seven.png';
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

const decoded = (r: E.Either<{ message: string }, _.GrayImage>): _.GrayImage => {
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
};

const refused = (r: E.Either<{ _tag: string; where: string; message: string }, unknown>, message: RegExp): void => {
  expect(r._tag).toBe('Left');
  if (E.isLeft(r)) {
    expect(r.left._tag).toBe('DataError');
    expect(r.left.where).toBe(FILE);
    expect(r.left.message).toMatch(message);
  }
};

const image = fc
  .tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }))
  .chain(([w, h]) => fc.uint8Array({ minLength: w * h, maxLength: w * h }).map((pixels) => ({ width: w, height: h, pixels })));

describe('decodeImage: PNG (oracle: a PNG writer built from the specification)', () => {
  it('reads 8-bit gray exactly', () => {
    const samples = [0, 1, 127, 128, 254, 255];
    expect(decoded(_.decodeImage(writePng({ width: 3, height: 2, bitDepth: 8, colorType: 0, samples }), FILE))).toEqual({ width: 3, height: 2, pixels: new Uint8Array(samples) });
  });

  it('rescales 16-bit gray to 0..255', () => {
    const samples = [0, 257, 32768, 65535];
    const img = decoded(_.decodeImage(writePng({ width: 2, height: 2, bitDepth: 16, colorType: 0, samples }), FILE));
    expect([...img.pixels]).toEqual(samples.map((s) => Math.round((s * 255) / 65535)));
  });

  it('turns RGB into Rec. 601 luminance', () => {
    const rgb = [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30];
    const img = decoded(_.decodeImage(writePng({ width: 4, height: 1, bitDepth: 8, colorType: 2, samples: rgb }), FILE));
    expect([...img.pixels]).toEqual([76, 150, 29, Math.round(0.299 * 10 + 0.587 * 20 + 0.114 * 30)]);
  });

  it('composites RGBA onto the background (black by default)', () => {
    const rgba = [255, 255, 255, 255, 255, 255, 255, 0, 200, 200, 200, 128];
    const png = writePng({ width: 3, height: 1, bitDepth: 8, colorType: 6, samples: rgba });
    expect([...decoded(_.decodeImage(png, FILE)).pixels]).toEqual([255, 0, Math.round((200 * 128) / 255)]);
    expect([...decoded(_.decodeImage(png, FILE, { background: 255 })).pixels]).toEqual([255, 255, Math.round((200 * 128 + 255 * 127) / 255)]);
  });

  it('reads palette images', () => {
    const png = writePng({ width: 2, height: 1, bitDepth: 8, colorType: 3, samples: [1, 0], palette: [[0, 0, 0], [90, 90, 90]] });
    expect([...decoded(_.decodeImage(png, FILE)).pixels]).toEqual([90, 0]);
  });

  it('refuses a corrupted PNG with a DataError naming the file', () => {
    const png = writePng({ width: 2, height: 2, bitDepth: 8, colorType: 0, samples: [1, 2, 3, 4] });
    png[png.length - 20]! ^= 0xff;
    refused(_.decodeImage(png, FILE), /is not a readable PNG/);
    refused(_.decodeImage(png.subarray(0, 30), FILE), /is not a readable PNG/);
  });

  it('refuses a PNG declaring an absurd size before allocating it', () => {
    refused(_.decodeImage(writePng({ width: 100000, height: 100000, bitDepth: 8, colorType: 0, samples: [] }), FILE), /100000x100000 PNG, too large/);
  });

  prop.prop([image], { numRuns: 100 })('decodeImage(encodePng(p, w, h)) = { width: w, height: h, pixels: p }', ({ width, height, pixels }) => {
    expect(decoded(_.decodeImage(_.encodePng(pixels, width, height), FILE))).toEqual({ width, height, pixels });
  });

  it('encodePng writes an 8-bit grayscale PNG (IHDR: bit depth 8, colour type 0)', () => {
    const png = _.encodePng(new Uint8Array(28 * 28), 28, 28);
    const v = new DataView(png.buffer, png.byteOffset);
    expect(new TextDecoder().decode(png.subarray(12, 16))).toBe('IHDR');
    expect([v.getUint32(16), v.getUint32(20), png[24], png[25]]).toEqual([28, 28, 8, 0]);
  });

  prop.prop([image, fc.nat(), fc.integer({ min: 1, max: 255 })], { numRuns: 200 })('never throws on a PNG with a byte changed', ({ width, height, pixels }, at, mask) => {
    const png = _.encodePng(pixels, width, height);
    png[at % png.length]! ^= mask;
    const r = _.decodeImage(png, FILE);
    expect(E.isRight(r) || r.left._tag === 'DataError').toBe(true);
  });
});

describe('decodeImage: PGM', () => {
  it('reads plain P2 with comments, rescaling by maxval', () => {
    const pgm = ascii('P2\n# a comment\n3 1 # width height\n15\n0 15\n# mid\n 7\n');
    expect(decoded(_.decodeImage(pgm, FILE))).toEqual({ width: 3, height: 1, pixels: new Uint8Array([0, 255, Math.round((7 * 255) / 15)]) });
  });

  it('reads raw P5 with 8-bit and 16-bit (big-endian) samples', () => {
    const p8 = new Uint8Array([...ascii('P5 2 1 255\n'), 9, 200]);
    expect([...decoded(_.decodeImage(p8, FILE)).pixels]).toEqual([9, 200]);
    const p16 = new Uint8Array([...ascii('P5\n2 1\n65535\n'), 0xff, 0xff, 0x80, 0x00]);
    expect([...decoded(_.decodeImage(p16, FILE)).pixels]).toEqual([255, Math.round((0x8000 * 255) / 65535)]);
  });

  prop.prop([image], { numRuns: 100 })('decodeImage(encodePgm(p, w, h)) = { width: w, height: h, pixels: p }', ({ width, height, pixels }) => {
    expect(decoded(_.decodeImage(_.encodePgm(pixels, width, height), FILE))).toEqual({ width, height, pixels });
  });

  it.each([
    ['a truncated P5 raster', new Uint8Array([...ascii('P5 2 2 255\n'), 1, 2, 3]), /truncated: its 2x2 raster needs 4 bytes but 3 follow/],
    ['bytes after a P5 raster', new Uint8Array([...ascii('P5 1 1 255\n'), 1, 2]), /1 bytes after its 1x1 raster/],
    ['a truncated P2 body', ascii('P2 2 2 255\n1 2 3'), /truncated: it has 3 of 4 pixel values/],
    ['too many P2 values', ascii('P2 1 1 255\n1 2\n'), /more than 1 pixel values/],
    ['a value above maxval', ascii('P2 2 1 10\n3 11\n'), /pixel value 11 above its maxval 10/],
    ['an incomplete header', ascii('P5 28 28'), /incomplete PGM header/],
    ['maxval 0', ascii('P2 1 1 0\n0\n'), /maxval 0, outside 1..65535/],
    ['maxval above 65535', ascii('P2 1 1 70000\n0\n'), /maxval 70000/],
    ['a zero size', ascii('P2 0 3 255\n'), /0x3 PGM: an image needs at least one pixel/],
    ['a non-number in P2', ascii('P2 1 1 255\nx\n'), /something other than a number/],
    ['something else entirely', ascii('GIF89a'), /neither a PNG nor a PGM/],
  ])('refuses %s with a DataError naming the file', (_label, bytes, message) => {
    refused(_.decodeImage(bytes, FILE), message);
  });
});

describe('decodeDigit and readDigit', () => {
  it('accepts a 28x28 image and refuses other sizes, saying 28x28 is expected', () => {
    const px = new Uint8Array(28 * 28).map((_x, i) => i % 256);
    expect(_.decodeDigit(_.encodePng(px, 28, 28), FILE)).toEqual(E.right(px));
    const r = _.decodeDigit(_.encodePgm(new Uint8Array(32 * 30), 32, 30), FILE);
    refused(r, /is 32x30 pixels, but 28x28 is expected/);
    if (E.isLeft(r)) expect(r.left.hint).toMatch(/resize it to 28x28/);
  });

  it('reads a file, and reports a missing one as an IOError', async () => {
    const file = join(tmp(), 'd.pgm');
    const px = new Uint8Array(28 * 28).fill(3);
    writeFileSync(file, _.encodePgm(px, 28, 28));
    expect(await _.readDigit(file)).toEqual(E.right(px));
    expect(await _.readDigit(file + '.none')).toEqual(E.left(expect.objectContaining({ _tag: 'IOError', where: file + '.none' })));
  });
});
