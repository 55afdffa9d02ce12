// The image warp of data augmentation (src/data/distort.ts) in WebAssembly: the same integer arithmetic as
// the TypeScript `warpFixed` there, so both give the same bits; a module of its own (own memory, no threads),
// four output pixels at a time in SIMD lanes (the four samples of each gathered as two 16-bit loads),
// instantiated by each augmentation worker (src/data/warpKernel.ts).
//
// For image j of `count` rows x cols uint8 images at `src`, the output at `dst` samples the image, padded with
// two pixels of `fill`, at the 16.16 fixed-point source coordinates (X, Y) = (X0 + A00 x + A01 y + DX,
// Y0 + A10 x + A11 y + DY): `params` holds X0, Y0, A00, A01, A10, A11 (i32) per image, `field` (0 for none)
// the per-pixel offsets DX then DY (i32, rows x cols each) per image, `pad` is (rows + 4) x (cols + 4) bytes
// of scratch. With `scaled` set, the output is float32, each value times 1/255 rounded once (what `toBatch`
// makes of a uint8 pixel), else uint8. Coordinates are clamped into the padding, where every sample reads
// the fill, and the bilinear weights are the top 8 bits of the fractions.

const PAD: i32 = 2;

/** One output pixel from its 16.16 source coordinates (the scalar form of the loop below, for a row's last pixels). */
// @ts-ignore: decorator
@inline
function pixel(X: i32, Y: i32, pad: usize, w: i32, xmax: i32, ymax: i32): i32 {
  const x0 = min(max(X >> 16, 0), xmax);
  const y0 = min(max(Y >> 16, 0), ymax);
  const fx = (X >> 8) & 255;
  const fy = (Y >> 8) & 255;
  const q = pad + <usize>(y0 * w + x0);
  const gx = 256 - fx;
  const top = <i32>load<u8>(q) * gx + <i32>load<u8>(q, 1) * fx;
  const bottom = <i32>load<u8>(q + <usize>w) * gx + <i32>load<u8>(q + <usize>w, 1) * fx;
  return (top * (256 - fy) + bottom * fy + 32768) >> 16;
}

export function warpMany(src: usize, dst: usize, params: usize, field: usize, pad: usize, count: i32, rows: i32, cols: i32, fill: i32, scaled: i32): void {
  const w = cols + 2 * PAD;
  const h = rows + 2 * PAD;
  const size = rows * cols;
  const xmax = w - 2;
  const ymax = h - 2;
  const zero = i32x4.splat(0);
  const vxmax = i32x4.splat(xmax);
  const vymax = i32x4.splat(ymax);
  const vw = i32x4.splat(w);
  const m255 = i32x4.splat(255);
  const v256 = i32x4.splat(256);
  const half = i32x4.splat(32768);
  const inv = f64x2.splat(1.0 / 255.0);
  const vpad = i32x4.splat(<i32>pad);
  memory.fill(pad, <u8>fill, <usize>(w * h));
  for (let j = 0; j < count; j++) {
    const img = src + <usize>(j * size);
    for (let y = 0; y < rows; y++) memory.copy(pad + <usize>((y + PAD) * w + PAD), img + <usize>(y * cols), <usize>cols);
    const p = params + <usize>(j * 24);
    const X0 = load<i32>(p);
    const Y0 = load<i32>(p, 4);
    const A00 = load<i32>(p, 8);
    const A01 = load<i32>(p, 12);
    const A10 = load<i32>(p, 16);
    const A11 = load<i32>(p, 20);
    const fdx: usize = field == 0 ? 0 : field + <usize>(j * size * 8);
    const fdy: usize = fdx + <usize>(size * 4);
    const stepX = i32x4.splat(4 * A00);
    const stepY = i32x4.splat(4 * A10);
    const rampX = i32x4(0, A00, 2 * A00, 3 * A00);
    const rampY = i32x4(0, A10, 2 * A10, 3 * A10);
    const out = dst + <usize>(j * size * (scaled != 0 ? 4 : 1));
    let i = 0;
    for (let y = 0; y < rows; y++) {
      const Xr = X0 + A01 * y;
      const Yr = Y0 + A11 * y;
      let X = i32x4.add(i32x4.splat(Xr), rampX);
      let Y = i32x4.add(i32x4.splat(Yr), rampY);
      let x = 0;
      for (; x + 4 <= cols; x += 4) {
        let sx = X;
        let sy = Y;
        if (fdx != 0) {
          sx = i32x4.add(sx, v128.load(fdx + <usize>(i << 2)));
          sy = i32x4.add(sy, v128.load(fdy + <usize>(i << 2)));
        }
        const x0 = i32x4.min_s(i32x4.max_s(i32x4.shr_s(sx, 16), zero), vxmax);
        const y0 = i32x4.min_s(i32x4.max_s(i32x4.shr_s(sy, 16), zero), vymax);
        const fx = v128.and(i32x4.shr_s(sx, 8), m255);
        const fy = v128.and(i32x4.shr_s(sy, 8), m255);
        const q = i32x4.add(i32x4.add(i32x4.mul(y0, vw), x0), vpad);
        const q0 = <usize>i32x4.extract_lane(q, 0);
        const q1 = <usize>i32x4.extract_lane(q, 1);
        const q2 = <usize>i32x4.extract_lane(q, 2);
        const q3 = <usize>i32x4.extract_lane(q, 3);
        let t = v128.load16_lane(q0, zero, 0);
        t = v128.load16_lane(q1, t, 2);
        t = v128.load16_lane(q2, t, 4);
        t = v128.load16_lane(q3, t, 6);
        let b = v128.load16_lane(q0 + <usize>w, zero, 0);
        b = v128.load16_lane(q1 + <usize>w, b, 2);
        b = v128.load16_lane(q2 + <usize>w, b, 4);
        b = v128.load16_lane(q3 + <usize>w, b, 6);
        const gx = i32x4.sub(v256, fx);
        const top = i32x4.add(i32x4.mul(v128.and(t, m255), gx), i32x4.mul(i32x4.shr_u(t, 8), fx));
        const bottom = i32x4.add(i32x4.mul(v128.and(b, m255), gx), i32x4.mul(i32x4.shr_u(b, 8), fx));
        const v = i32x4.shr_s(i32x4.add(i32x4.add(i32x4.mul(top, i32x4.sub(v256, fy)), i32x4.mul(bottom, fy)), half), 16);
        if (scaled != 0) {
          const lo = f32x4.demote_f64x2_zero(f64x2.mul(f64x2.convert_low_i32x4_s(v), inv));
          const hi = f32x4.demote_f64x2_zero(f64x2.mul(f64x2.convert_low_i32x4_s(i64x2.splat(i64x2.extract_lane(v, 1))), inv));
          v128.store64_lane(out + <usize>(i << 2), lo, 0);
          v128.store64_lane(out + <usize>((i + 2) << 2), hi, 0);
        } else {
          v128.store32_lane(out + <usize>i, i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_u(v, zero), zero), 0);
        }
        X = i32x4.add(X, stepX);
        Y = i32x4.add(Y, stepY);
        i += 4;
      }
      for (; x < cols; x++) {
        let sx = Xr + A00 * x;
        let sy = Yr + A10 * x;
        if (fdx != 0) {
          sx += load<i32>(fdx + <usize>(i << 2));
          sy += load<i32>(fdy + <usize>(i << 2));
        }
        const v = pixel(sx, sy, pad, w, xmax, ymax);
        if (scaled != 0) store<f32>(out + <usize>(i << 2), <f32>(<f64>v * (1.0 / 255.0)));
        else store<u8>(out + <usize>i, <u8>v);
        i++;
      }
    }
  }
}
