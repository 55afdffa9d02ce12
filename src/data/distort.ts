/**
 * Image distortions for data augmentation, as pure functions over one image: plain typed arrays and numbers
 * in and out, so the same call runs on the main thread or in a worker (everything here survives
 * `structuredClone`). The randomness of an image comes only from (seed, epoch, example index), never from
 * the order or the grouping in which images are processed.
 *
 * The output pixel at p = (x, y) samples the input at
 *   s(p) = c + A (p - c) + t + alpha * (G_sigma * u)(p)
 * with c the image centre, A = rotation(theta) . scale(k) . shear(h) and t a shift, each drawn uniformly
 * within its bound (`AffineBounds`), and u a field of uniform draws in [-1, 1]^2 per pixel, smoothed by a
 * normalised Gaussian of width sigma (zero outside the image) and scaled by alpha: Simard, Steinkraus and
 * Platt (2003)'s elastic distortion. One bilinear resampling covers both parts (two successive resamplings
 * would blur twice); samples outside the image read `fill`, and values are rounded back to uint8. A uint8
 * image is resampled in fixed point (16.16 coordinates, 8-bit weights, as image libraries' fixed-point warps
 * do: within 2 levels of the float64 resampling, tested), the form the wasm kernel (warpKernel.ts) computes
 * bit for bit; a float32 image in float64.
 *
 * Its laws are stated (and tested) with the stage that uses it, `augment` (src/stages/augment.ts): zero
 * magnitude gives the image back, every output pixel lies between the smallest and largest input pixel and
 * the fill value, and the same (seed, epoch, index) gives the same image.
 */

import { keyedRng } from '../nn/random.js';

/** Bounds of the random affine part; each parameter is drawn uniformly in [-bound, bound]. */
export interface AffineBounds {
  /** Shift in pixels, drawn separately along x and y. */
  readonly shift?: number;
  /** Rotation in degrees. */
  readonly rotation?: number;
  /** Relative scale: the factor is 1 + u, u in [-scale, scale] (the same along both axes). */
  readonly scale?: number;
  /** Horizontal shear factor (x += shear * y). */
  readonly shear?: number;
}

/** Elastic distortion (Simard 2003): the smoothed field's width `sigma` (pixels) and its scale `alpha` (pixels). */
export interface ElasticParams {
  readonly alpha: number;
  readonly sigma: number;
}

/** What `distortImage` does: an affine part, an elastic part, or both (one resampling). */
export interface DistortSpec {
  readonly affine?: AffineBounds;
  readonly elastic?: ElasticParams;
  /** Value read outside the image (default 0, MNIST's background). */
  readonly fill?: number;
}

/** Whether a spec distorts nothing (every bound and alpha zero or absent): `distortImage` is then the identity. */
export const isIdentity = (spec: DistortSpec): boolean => {
  const a = spec.affine ?? {};
  return !a.shift && !a.rotation && !a.scale && !a.shear && !spec.elastic?.alpha;
};

/** Where an image's randomness comes from: the run seed, the epoch and the example's index in its dataset. */
export interface DistortKey {
  readonly seed: number;
  readonly epoch: number;
  readonly index: number;
}

/** The normalised Gaussian of width sigma, truncated at 3 sigma (and at `limit` taps each side). */
const gaussian = (sigma: number, limit: number): Float64Array => {
  const r = Math.min(Math.ceil(3 * sigma), limit);
  const g = new Float64Array(2 * r + 1);
  let sum = 0;
  // k = 0 separately: for a sigma so small that its square underflows, 0 / 0 would poison the kernel
  for (let k = -r; k <= r; k++) sum += g[k + r] = k === 0 ? 1 : Math.exp(-(k * k) / (2 * sigma * sigma));
  for (let k = 0; k < g.length; k++) g[k] = g[k]! / sum;
  return g;
};

/** Separable convolution of a rows x cols field with `g` (zero outside), in place; `tmp` is scratch of the same size. */
const smooth = (f: Float64Array, rows: number, cols: number, g: Float64Array, tmp: Float64Array): void => {
  const r = (g.length - 1) >> 1;
  for (let y = 0; y < rows; y++) {
    const o = y * cols;
    for (let x = 0; x < cols; x++) {
      let s = 0;
      const lo = Math.max(-r, -x);
      const hi = Math.min(r, cols - 1 - x);
      for (let k = lo; k <= hi; k++) s += g[k + r]! * f[o + x + k]!;
      tmp[o + x] = s;
    }
  }
  for (let y = 0; y < rows; y++) {
    const lo = Math.max(-r, -y);
    const hi = Math.min(r, rows - 1 - y);
    for (let x = 0; x < cols; x++) {
      let s = 0;
      for (let k = lo; k <= hi; k++) s += g[k + r]! * tmp[(y + k) * cols + x]!;
      f[y * cols + x] = s;
    }
  }
};

/**
 * A drawn distortion: the output pixel p samples the input at c + A (p - c) + t + (dx, dy)(p), with A the
 * row-major 2x2 `matrix`, t the `shift` and the optional per-pixel displacement `field`.
 */
export interface Warp {
  readonly matrix: readonly [number, number, number, number];
  readonly shift: readonly [number, number];
  readonly field?: { readonly dx: Float64Array; readonly dy: Float64Array };
}

/** The distortion of the image keyed `key` under `spec` for rows x cols images: drawn from (seed, epoch, index) only. */
export const drawWarp = (spec: DistortSpec, rows: number, cols: number, key: DistortKey): Warp => {
  const n = rows * cols;
  const a = spec.affine ?? {};
  for (const [name, v] of [['shift', a.shift], ['rotation', a.rotation], ['scale', a.scale], ['shear', a.shear], ['alpha', spec.elastic?.alpha], ['sigma', spec.elastic?.sigma]] as const) {
    if (v !== undefined && !(v >= 0 && Number.isFinite(v))) throw new RangeError(`distortImage: ${name} must be a finite number >= 0, got ${v}`);
  }
  // one generator per image, from (seed, epoch, index) only (a seedrandom one costs ~20 us to make)
  const r = keyedRng(key.seed, key.epoch, key.index);
  const uniform = (bound: number | undefined) => (bound ? (2 * r() - 1) * bound : 0);
  // the affine part, drawn first so that adding the elastic part leaves it unchanged
  const tx = uniform(a.shift);
  const ty = uniform(a.shift);
  const theta = (uniform(a.rotation) * Math.PI) / 180;
  const k = 1 + uniform(a.scale);
  const h = uniform(a.shear);
  const cos = Math.cos(theta) * k;
  const sin = Math.sin(theta) * k;
  // A = R(theta) k [[1, h], [0, 1]]
  const matrix = [cos, cos * h - sin, sin, sin * h + cos] as const;
  const e = spec.elastic;
  if (!e || e.alpha === 0) return { matrix, shift: [tx, ty] };
  // the elastic part: alpha * (G_sigma * u), one field per axis
  const dx = new Float64Array(n);
  const dy = new Float64Array(n);
  for (let i = 0; i < n; i++) dx[i] = 2 * r() - 1;
  for (let i = 0; i < n; i++) dy[i] = 2 * r() - 1;
  if (e.sigma > 0) {
    const g = gaussian(e.sigma, Math.max(rows, cols));
    const tmp = new Float64Array(n);
    smooth(dx, rows, cols, g, tmp);
    smooth(dy, rows, cols, g, tmp);
  }
  for (let i = 0; i < n; i++) {
    dx[i] = dx[i]! * e.alpha;
    dy[i] = dy[i]! * e.alpha;
  }
  return { matrix, shift: [tx, ty], field: { dx, dy } };
};

/**
 * Resamples a rows x cols image through `warp` (bilinear; `fill` outside the image): a uint8 image comes
 * back rounded to uint8, a float32 image as float32. Pure: `image` is not written.
 */
export const warpImage = <I extends Uint8Array | Float32Array>(image: I, rows: number, cols: number, warp: Warp, fill = 0): I => {
  const n = rows * cols;
  if (image.length !== n) throw new RangeError(`distortImage: the image has ${image.length} pixels, ${rows}x${cols} needs ${n}`);
  const out = (image instanceof Uint8Array ? new Uint8Array(n) : new Float32Array(n)) as I;
  warpInto(image, 0, rows, cols, warp, fill, out, 0);
  return out;
};

/** Writes the warp of the image at `image[io ..]` to `out[oo ..]`: uint8 in fixed point (when it fits), float32 in floating point. */
const warpInto = (image: Uint8Array | Float32Array, io: number, rows: number, cols: number, warp: Warp, fill: number, out: Uint8Array | Float32Array, oo: number): void => {
  if (image instanceof Uint8Array && out instanceof Uint8Array && byteFill(fill) && fixedFits(rows, cols, warp)) warpFixed(image, io, rows, cols, warp, fill, out, oo);
  else warpFloat(image, io, rows, cols, warp, fill, out, oo);
};

/** The bilinear resampling in float64, for float32 images (and uint8 images too large for fixed point): `Math.round` back to uint8. */
const warpFloat = (image: Uint8Array | Float32Array, io: number, rows: number, cols: number, warp: Warp, fill: number, out: Uint8Array | Float32Array, oo: number): void => {
  const [a00, a01, a10, a11] = warp.matrix;
  const [tx, ty] = warp.shift;
  const dx = warp.field?.dx;
  const dy = warp.field?.dy;
  const cx = (cols - 1) / 2;
  const cy = (rows - 1) / 2;
  const at = (x: number, y: number): number => (x >= 0 && x < cols && y >= 0 && y < rows ? image[io + y * cols + x]! : fill);
  const inside = (x0: number, y0: number) => x0 >= 0 && x0 < cols - 1 && y0 >= 0 && y0 < rows - 1;
  const bytes = out instanceof Uint8Array;
  for (let y = 0; y < rows; y++) {
    const py = y - cy;
    for (let x = 0; x < cols; x++) {
      const i = y * cols + x;
      const px = x - cx;
      let sx = cx + a00 * px + a01 * py + tx;
      let sy = cy + a10 * px + a11 * py + ty;
      if (dx && dy) {
        sx += dx[i]!;
        sy += dy[i]!;
      }
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      // a convex combination of four pixels (or the fill): stays within their range, and is exact when
      // the sample falls on a pixel (fx = fy = 0), which makes zero magnitude the identity
      let p00, p10, p01, p11;
      if (inside(x0, y0)) {
        const o = io + y0 * cols + x0;
        p00 = image[o]!;
        p10 = image[o + 1]!;
        p01 = image[o + cols]!;
        p11 = image[o + cols + 1]!;
      } else {
        p00 = at(x0, y0);
        p10 = at(x0 + 1, y0);
        p01 = at(x0, y0 + 1);
        p11 = at(x0 + 1, y0 + 1);
      }
      const v = (1 - fy) * ((1 - fx) * p00 + fx * p10) + fy * ((1 - fx) * p01 + fx * p11);
      out[oo + i] = bytes ? Math.round(v) : v;
    }
  }
};

/** Whether `fill` is a uint8 value (the fixed-point warp pads with it). */
export const byteFill = (fill: number): boolean => Number.isInteger(fill) && fill >= 0 && fill <= 255;

/** Fixed point: source coordinates in 16.16, bilinear weights in 8 bits (as image libraries' fixed-point warps do). */
const ONE = 65536;
/** Fill-valued margin around the padded copy: any sample two or more pixels outside reads fill only. */
const PAD = 2;
/** Largest |source coordinate| (pixels) for which 16.16 stays clear of int32 overflow. */
const FIXED_LIMIT = 1 << 13;
/** The padded copy of the image being warped (one per thread, reused: warps run one at a time). */
let padded = new Uint8Array(0);

/** Whether the fixed-point warp applies: every source coordinate of the warp stays within `FIXED_LIMIT` (the map is affine plus a bounded field, so its corners bound it). */
export const fixedFits = (rows: number, cols: number, warp: Warp): boolean => {
  const [a00, a01, a10, a11] = warp.matrix;
  const cx = (cols - 1) / 2;
  const cy = (rows - 1) / 2;
  let field = 0;
  const f = warp.field;
  if (f) for (let i = 0; i < f.dx.length; i++) field = Math.max(field, Math.abs(f.dx[i]!), Math.abs(f.dy[i]!));
  if (!(field < FIXED_LIMIT) || cols + rows + 2 * PAD >= FIXED_LIMIT) return false;
  // the four corners, (px, py) = (+-cx, +-cy)
  for (let c = 0; c < 4; c++) {
    const px = c & 1 ? cx : -cx;
    const py = c & 2 ? cy : -cy;
    const sx = cx + a00 * px + a01 * py + warp.shift[0];
    const sy = cy + a10 * px + a11 * py + warp.shift[1];
    if (!(Math.abs(sx) + field < FIXED_LIMIT && Math.abs(sy) + field < FIXED_LIMIT)) return false;
  }
  return true;
};

/**
 * The fixed-point form of a warp for rows x cols images: the source of output pixel (0, 0) in the padded
 * copy (X0, Y0) and the matrix (A00, A01, A10, A11), all times 2^16; X0 and Y0 carry half a weight step
 * (2^7), so the 8-bit weights taken from them are rounded, not truncated.
 */
export const fixedParams = (warp: Warp, rows: number, cols: number): readonly [number, number, number, number, number, number] => {
  const [a00, a01, a10, a11] = warp.matrix;
  const cx = (cols - 1) / 2;
  const cy = (rows - 1) / 2;
  return [
    Math.round((cx - a00 * cx - a01 * cy + warp.shift[0] + PAD) * ONE) + 128,
    Math.round((cy - a10 * cx - a11 * cy + warp.shift[1] + PAD) * ONE) + 128,
    Math.round(a00 * ONE),
    Math.round(a01 * ONE),
    Math.round(a10 * ONE),
    Math.round(a11 * ONE),
  ];
};

/** A field displacement (pixels) in 16.16 fixed point. */
export const fixedOffset = (d: number): number => Math.round(d * ONE);

/**
 * The bilinear resampling of a uint8 image in integers, over a copy padded with `PAD` pixels of `fill`, so
 * the inner loop has no branch: coordinates are clamped into the padding, where all four samples are the
 * fill. Each output is (sum of four pixels times weights summing to 2^16 + 2^15) >> 16: a rounded convex
 * combination, so it stays within the four pixels' range, and a sample on a pixel (zero magnitude) reads
 * that pixel exactly. It differs from the float64 resampling by at most 2 levels (tested).
 */
const warpFixed = (image: Uint8Array, io: number, rows: number, cols: number, warp: Warp, fill: number, out: Uint8Array, oo: number): void => {
  const w = cols + 2 * PAD;
  const h = rows + 2 * PAD;
  if (padded.length < w * h) padded = new Uint8Array(w * h);
  const pad = padded;
  pad.fill(fill, 0, w * h);
  for (let y = 0; y < rows; y++) pad.set(image.subarray(io + y * cols, io + (y + 1) * cols), (y + PAD) * w + PAD);
  const [X0, Y0, A00, A01, A10, A11] = fixedParams(warp, rows, cols);
  const dx = warp.field?.dx;
  const dy = warp.field?.dy;
  const xmax = w - 2;
  const ymax = h - 2;
  for (let y = 0, i = 0; y < rows; y++) {
    let X = X0 + A01 * y;
    let Y = Y0 + A11 * y;
    for (let x = 0; x < cols; x++, i++, X += A00, Y += A10) {
      const sx = dx ? X + fixedOffset(dx[i]!) : X;
      const sy = dy ? Y + fixedOffset(dy[i]!) : Y;
      let x0 = sx >> 16;
      let y0 = sy >> 16;
      const fx = (sx >> 8) & 255;
      const fy = (sy >> 8) & 255;
      x0 = x0 < 0 ? 0 : x0 > xmax ? xmax : x0;
      y0 = y0 < 0 ? 0 : y0 > ymax ? ymax : y0;
      const o = y0 * w + x0;
      const gx = 256 - fx;
      out[oo + i] = ((pad[o]! * gx + pad[o + 1]! * fx) * (256 - fy) + (pad[o + w]! * gx + pad[o + w + 1]! * fx) * fy + 32768) >> 16;
    }
  }
};

/**
 * The distorted copy of one rows x cols uint8 image: `warpImage` of `drawWarp` (see the module comment for
 * the mapping). Pure: the result depends only on the arguments, and `image` is not written.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { distortImage } from 'gradpipe';
 *
 * const image = Uint8Array.from({ length: 28 * 28 }, (_, i) => (i * 37) % 256);
 * const spec = { affine: { shift: 2, rotation: 10, scale: 0.1, shear: 0.2 }, elastic: { alpha: 34, sigma: 4 } };
 * const a = distortImage(image, 28, 28, spec, { seed: 1, epoch: 0, index: 5 });
 * assert.deepEqual(a, distortImage(image, 28, 28, spec, { seed: 1, epoch: 0, index: 5 })); // same key, same image
 * assert.notDeepEqual(a, distortImage(image, 28, 28, spec, { seed: 1, epoch: 1, index: 5 })); // another epoch, another image
 * assert.deepEqual(distortImage(image, 28, 28, {}, { seed: 1, epoch: 0, index: 5 }), image); // zero magnitude
 * ```
 */
export const distortImage = <I extends Uint8Array | Float32Array>(image: I, rows: number, cols: number, spec: DistortSpec, key: DistortKey): I =>
  warpImage(image, rows, cols, drawWarp(spec, rows, cols, key), spec.fill);

/**
 * A group of images to distort together (what a worker receives): image j starts at pixel `at[j] * rows *
 * cols` of `images` (by default they lie one after another, `at[j] = j`, so `images` can be a batch's own
 * buffer or a whole dataset shared with the worker).
 */
export interface DistortTask<I extends Uint8Array | Float32Array = Uint8Array | Float32Array> {
  readonly images: I;
  /** The example index of each image (its key with `seed` and `epoch`). */
  readonly indices: ArrayLike<number>;
  /** Where each image lies in `images`, in images (default: j for image j). */
  readonly at?: ArrayLike<number>;
  readonly rows: number;
  readonly cols: number;
  readonly spec: DistortSpec;
  readonly seed: number;
  readonly epoch: number;
}

/** The pixel offset of each image of a task in its `images`; throws a RangeError naming the task's shape when one lies outside. */
export const taskOffsets = (t: DistortTask): Uint32Array => {
  const size = t.rows * t.cols;
  const n = t.indices.length;
  if (t.at === undefined && t.images.length !== n * size) throw new RangeError(`distortMany: ${n} images of ${t.rows}x${t.cols} need ${n * size} pixels, got ${t.images.length}`);
  if (t.at !== undefined && t.at.length !== n) throw new RangeError(`distortMany: ${n} indices but ${t.at.length} positions`);
  const offsets = new Uint32Array(n);
  for (let j = 0; j < n; j++) {
    const a = t.at === undefined ? j : t.at[j]!;
    if (!(Number.isInteger(a) && a >= 0 && (a + 1) * size <= t.images.length)) throw new RangeError(`distortMany: image ${a} lies outside the ${t.images.length} pixels given`);
    offsets[j] = a * size;
  }
  return offsets;
};

/**
 * `distortImage` of every image of a task, one after another in a new buffer: image j gets the key (seed,
 * epoch, indices[j]), so the result is the same whether the group is distorted here or in a worker.
 */
export const distortMany = <I extends Uint8Array | Float32Array>(t: DistortTask<I>): I => {
  const size = t.rows * t.cols;
  const offsets = taskOffsets(t);
  const n = t.indices.length * size;
  const out = (t.images instanceof Uint8Array ? new Uint8Array(n) : new Float32Array(n)) as I;
  for (let j = 0; j < t.indices.length; j++) {
    const warp = drawWarp(t.spec, t.rows, t.cols, { seed: t.seed, epoch: t.epoch, index: t.indices[j]! });
    warpInto(t.images, offsets[j]!, t.rows, t.cols, warp, t.spec.fill ?? 0, out, j * size);
  }
  return out;
};
