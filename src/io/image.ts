/**
 * Reading digit images for `predict`: PNG (any colour type or bit depth, via pngjs) and PGM (P2 plain
 * and P5 raw, maxval up to 65535) into 8-bit grayscale pixels, row-major.
 *
 * 1. Colour is reduced to luminance (Rec. 601: 0.299 R + 0.587 G + 0.114 B), the weights MNIST's
 *    scanner-era grayscale corresponds to; gray stays exactly gray.
 * 2. Transparency is composited onto `background` (default 0, black: MNIST digits are white on black).
 * 3. Samples are rescaled to 0..255: round(v * 255 / maxval).
 * 4. A digit must be 28x28 (the size the networks are trained on); other sizes are refused, not resized,
 *    because resampling choices change predictions and belong to the user.
 * Its laws are stated on `decodeImage` below.
 */
import { readFile } from 'node:fs/promises';
import * as E from 'fp-ts/lib/Either.js';
import { PNG } from 'pngjs';
import { dataError, type GradpipeError } from '../errors.js';
import { fsError } from './ioError.js';

export interface GrayImage {
  readonly width: number;
  readonly height: number;
  /** width * height values in 0..255, row by row. */
  readonly pixels: Uint8Array;
}

export interface DecodeOptions {
  /** Gray level that transparent pixels are composited onto (0..255); default 0 (black). */
  readonly background?: number;
}

/** The side of an MNIST digit. */
export const DIGIT_SIZE = 28;
// decoding allocates 4 bytes a pixel; refuse what no digit image needs before allocating it
const MAX_PIXELS = 1 << 24;

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const isPng = (b: Uint8Array): boolean => PNG_SIGNATURE.every((x, i) => b[i] === x);

const HINT = 'give a PNG or PGM (P2/P5) image';

/** Width and height from a PNG's IHDR chunk (which must come first), without decoding. */
const pngSize = (b: Uint8Array): { width: number; height: number } | undefined => {
  if (b.length < 24) return undefined;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return { width: v.getUint32(16), height: v.getUint32(20) };
};

const luma = (r: number, g: number, b: number): number => 0.299 * r + 0.587 * g + 0.114 * b;

const decodePng = (bytes: Uint8Array, file: string, background: number): E.Either<GradpipeError, GrayImage> => {
  const size = pngSize(bytes);
  if (size !== undefined && size.width * size.height > MAX_PIXELS) {
    return E.left(dataError(file, `is a ${size.width}x${size.height} PNG, too large for a digit image`, `give a ${DIGIT_SIZE}x${DIGIT_SIZE} image`));
  }
  let png: ReturnType<typeof PNG.sync.read>;
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    return E.left(dataError(file, `is not a readable PNG (${e instanceof Error ? e.message : String(e)})`, 'the file may be truncated or corrupted; export it again'));
  }
  const { width, height, data } = png;
  const pixels = new Uint8Array(width * height);
  for (let i = 0; i < pixels.length; i++) {
    const a = data[4 * i + 3]! / 255;
    const y = luma(data[4 * i]!, data[4 * i + 1]!, data[4 * i + 2]!);
    pixels[i] = Math.round(a * y + (1 - a) * background);
  }
  return E.right({ width, height, pixels });
};

/** Splits a PGM header (or a P2 body) into numbers, skipping whitespace and `#` comments. */
class PgmReader {
  at = 2;
  constructor(private readonly b: Uint8Array) {}

  private skipSpace(): void {
    for (;;) {
      const c = this.b[this.at];
      if (c === 0x23) while (this.at < this.b.length && this.b[this.at] !== 0x0a && this.b[this.at] !== 0x0d) this.at++;
      else if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0b || c === 0x0c) this.at++;
      else return;
    }
  }

  /** The next unsigned decimal integer, or undefined at the end or at anything else. */
  next(): number | undefined {
    this.skipSpace();
    let n = 0;
    const start = this.at;
    for (let c = this.b[this.at]; c !== undefined && c >= 0x30 && c <= 0x39; c = this.b[++this.at]) n = n * 10 + (c - 0x30);
    return this.at === start ? undefined : n;
  }

  atEnd(): boolean {
    this.skipSpace();
    return this.at >= this.b.length;
  }
}

const decodePgm = (bytes: Uint8Array, file: string): E.Either<GradpipeError, GrayImage> => {
  const fail = (message: string, hint = 'the file may be truncated or corrupted; export it again') => E.left(dataError(file, message, hint));
  const raw = bytes[1] === 0x35; // P5
  const r = new PgmReader(bytes);
  const [width, height, maxval] = [r.next(), r.next(), r.next()];
  if (width === undefined || height === undefined || maxval === undefined) return fail('has an incomplete PGM header (width, height and maxval are needed)');
  if (width === 0 || height === 0) return fail(`is a ${width}x${height} PGM: an image needs at least one pixel`);
  if (maxval < 1 || maxval > 65535) return fail(`has PGM maxval ${maxval}, outside 1..65535`);
  if (width * height > MAX_PIXELS) return fail(`is a ${width}x${height} PGM, too large for a digit image`, `give a ${DIGIT_SIZE}x${DIGIT_SIZE} image`);
  const n = width * height;
  const samples = new Uint32Array(n);
  if (raw) {
    // exactly one whitespace byte separates maxval from the raster
    const start = r.at + 1;
    const wide = maxval > 255 ? 2 : 1;
    const need = n * wide;
    const have = bytes.length - start;
    if (have < need) return fail(`is truncated: its ${width}x${height} raster needs ${need} bytes but ${Math.max(0, have)} follow the header`);
    if (have > need) return fail(`has ${have - need} bytes after its ${width}x${height} raster`, 'check the width and height in its header');
    for (let i = 0; i < n; i++) samples[i] = wide === 2 ? (bytes[start + 2 * i]! << 8) | bytes[start + 2 * i + 1]! : bytes[start + i]!;
  } else {
    for (let i = 0; i < n; i++) {
      const v = r.next();
      if (v === undefined) return fail(r.atEnd() ? `is truncated: it has ${i} of ${n} pixel values` : `has something other than a number at byte ${r.at}`);
      samples[i] = v;
    }
    if (!r.atEnd()) return fail(`has more than ${n} pixel values for its ${width}x${height} size`, 'check the width and height in its header');
  }
  const pixels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    if (samples[i]! > maxval) return fail(`has pixel value ${samples[i]} above its maxval ${maxval} (pixel ${i})`);
    pixels[i] = Math.round((samples[i]! * 255) / maxval);
  }
  return E.right({ width, height, pixels });
};

/**
 * Decodes PNG or PGM `bytes` read from `file` into grayscale (see the module comment).
 *
 * Laws:
 * - decodeImage(encodePng(p, w, h)) = { width: w, height: h, pixels: p }
 * - decodeImage(encodePgm(p, w, h)) = { width: w, height: h, pixels: p }
 */
export const decodeImage = (bytes: Uint8Array, file: string, options: DecodeOptions = {}): E.Either<GradpipeError, GrayImage> => {
  const background = options.background ?? 0;
  if (!(background >= 0 && background <= 255)) throw new RangeError(`decodeImage: background ${background} is outside 0..255`);
  if (isPng(bytes)) return decodePng(bytes, file, background);
  if (bytes[0] === 0x50 && (bytes[1] === 0x32 || bytes[1] === 0x35)) return decodePgm(bytes, file);
  return E.left(dataError(file, 'is neither a PNG nor a PGM (P2/P5) image', HINT));
};

/** Decodes a digit image, which must be 28x28 (`size`x`size`), into its pixels. */
export const decodeDigit = (bytes: Uint8Array, file: string, options: DecodeOptions & { readonly size?: number } = {}): E.Either<GradpipeError, Uint8Array> => {
  const size = options.size ?? DIGIT_SIZE;
  const img = decodeImage(bytes, file, options);
  if (E.isLeft(img)) return img;
  const { width, height, pixels } = img.right;
  if (width !== size || height !== size) {
    return E.left(dataError(file, `is ${width}x${height} pixels, but ${size}x${size} is expected`, `resize it to ${size}x${size} (a white digit on a black background, like MNIST)`));
  }
  return E.right(pixels);
};

/** Reads and decodes a digit image file (see `decodeDigit`). */
export const readDigit = async (file: string, options: DecodeOptions & { readonly size?: number } = {}): Promise<E.Either<GradpipeError, Uint8Array>> => {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (e) {
    return E.left(fsError(file, 'read the image', e));
  }
  return decodeDigit(bytes, file, options);
};

const checkSize = (name: string, gray: Uint8Array, width: number, height: number): void => {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || gray.length !== width * height) {
    throw new RangeError(`${name}: ${gray.length} pixels do not make a ${width}x${height} image`);
  }
};

/** An 8-bit grayscale PNG of `gray` (row-major, `width` x `height`). */
export const encodePng = (gray: Uint8Array, width: number, height: number): Uint8Array => {
  checkSize('encodePng', gray, width, height);
  const png = new PNG({ width, height, colorType: 0, inputColorType: 0, inputHasAlpha: false, bitDepth: 8 });
  png.data = Buffer.from(gray.buffer, gray.byteOffset, gray.byteLength);
  return new Uint8Array(PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false, bitDepth: 8 }));
};

/** A raw (P5) 8-bit PGM of `gray` (row-major, `width` x `height`). */
export const encodePgm = (gray: Uint8Array, width: number, height: number): Uint8Array => {
  checkSize('encodePgm', gray, width, height);
  const header = new TextEncoder().encode(`P5\n${width} ${height}\n255\n`);
  const out = new Uint8Array(header.length + gray.length);
  out.set(header);
  out.set(gray, header.length);
  return out;
};
